package gossip

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/memberlist"
)

// Config configures a Membership. Start from DefaultConfig.
type Config struct {
	// NodeID names this node in the ring and in memberlist. Empty means:
	// the ID persisted in Store, or, on a node's first start, a random
	// 16-byte hex ID. A non-empty NodeID that differs from the persisted
	// one is an error, so a data directory is never reused under another
	// identity by mistake. At most MaxIDLen bytes.
	NodeID string

	// Zone is the node's failure domain. Empty keeps the persisted zone
	// (if any). At most MaxZoneLen bytes.
	Zone string

	// Weight scales the node's share of the ring. Zero keeps the persisted
	// weight, or 1 for a new node. Must be finite and non-negative.
	Weight float64

	// InitialStatus is the status a node takes when it first enters the
	// ring: StatusActive (the default when zero) or StatusJoining, for a
	// server that streams data in before it serves. A restarted node keeps
	// its persisted status.
	InitialStatus Status

	// BindAddr and BindPort are where memberlist listens (UDP and TCP).
	// Defaults "0.0.0.0" and 7946; port 0 picks a free port, which
	// GossipAddr then reports.
	BindAddr string
	BindPort int

	// AdvertiseAddr and AdvertisePort are the address other nodes use to
	// reach this one. Empty/0 means derived from the bind address.
	AdvertiseAddr string
	AdvertisePort int

	// GRPCAddr and HTTPAddr are where this node serves (host:port); they
	// travel in the node metadata and in the ring record. At most
	// MaxAddrLen bytes each.
	GRPCAddr string
	HTTPAddr string
	// PeerAddr is where this node serves other nodes (host:port); empty
	// means GRPCAddr serves them too. At most MaxAddrLen bytes.
	PeerAddr string

	// SecretKey, when set, encrypts all gossip with AES (memberlist's
	// keyring). It must be 16, 24 or 32 bytes; nodes with different keys
	// cannot talk. Default nil: no encryption.
	SecretKey []byte

	// Store persists the ring state and this node's ID. Nil keeps them in
	// memory only, so a restart starts afresh.
	Store StateStore

	// PeerStore persists the peer book: the gossip address of every member
	// this node has seen alive, so that a node restarted without seeds can
	// Rejoin them (Serf's snapshot does this). It is saved by the
	// goroutine that applies remote state, only when an address changes.
	// Nil: nothing remembered across restarts.
	PeerStore StateStore

	// Logger receives this package's and memberlist's logs. Nil means
	// slog.Default().
	Logger *slog.Logger

	// Transport carries memberlist's packets and streams. Nil means real
	// UDP and TCP on BindAddr:BindPort. Tests may pass
	// (&memberlist.MockNetwork{}).NewTransport(name).
	Transport memberlist.Transport

	// Memberlist is the timing preset (probe, gossip and push/pull
	// intervals, suspicion multipliers). Nil means DefaultMemberlistConfig().
	// New copies it and overrides its identity, addresses, transport,
	// encryption, logging and delegates; the caller's value is not
	// modified.
	Memberlist *memberlist.Config

	// LeaveTimeout bounds how long Close waits for memberlist's leave
	// message to go out. Default 5 s.
	LeaveTimeout time.Duration

	// JoinBackoff and JoinMaxBackoff bound the pause between Join
	// attempts: it starts at JoinBackoff and doubles up to JoinMaxBackoff.
	// Defaults 100 ms and 2 s.
	JoinBackoff    time.Duration
	JoinMaxBackoff time.Duration
}

// DefaultConfig returns a Config with every default filled in; callers
// set at least GRPCAddr and HTTPAddr, and usually NodeID and Store.
func DefaultConfig() Config {
	return Config{
		Weight:         1,
		InitialStatus:  StatusActive,
		BindAddr:       "0.0.0.0",
		BindPort:       7946,
		Memberlist:     DefaultMemberlistConfig(),
		LeaveTimeout:   5 * time.Second,
		JoinBackoff:    100 * time.Millisecond,
		JoinMaxBackoff: 2 * time.Second,
	}
}

// DefaultMemberlistConfig returns memberlist's LAN preset (probe every
// 1 s, gossip every 200 ms, push/pull every 30 s) with two changes.
// DeadNodeReclaimTime is 30 s instead of never, so a node that crashed can
// come back under its ID on a new address once it has been dead that long.
// EnableCompression is off: memberlist LZW-compresses every packet, pings
// and acks of a few dozen bytes included, which was a fifth of an idle
// node's CPU (a profile of an idle 3-node cluster) for no gain on a LAN;
// a node still reads compressed messages, so nodes with either setting
// talk to each other.
// Push/pull, the anti-entropy path of the ring state, stays at the LAN
// 30 s (it was 15 s): ring changes travel by broadcast and by the pushes
// of SetStatus, Leave and Remove, so push/pull only repairs a lost
// broadcast, and an idle cluster should cost next to nothing.
// Failure detection stays at the LAN figures: a stopped node is dead
// everywhere 5–6 s later for clusters of 3–10 nodes.
func DefaultMemberlistConfig() *memberlist.Config {
	c := memberlist.DefaultLANConfig()
	c.DeadNodeReclaimTime = 30 * time.Second
	c.EnableCompression = false
	return c
}

// Validate reports the first problem with c, as an error that wraps
// ErrInvalidConfig. Zero values that have defaults are accepted.
func (c Config) Validate() error {
	bad := func(field string, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	switch {
	case len(c.NodeID) > MaxIDLen:
		return bad("NodeID", "%d bytes, limit %d", len(c.NodeID), MaxIDLen)
	case len(c.Zone) > MaxZoneLen:
		return bad("Zone", "%d bytes, limit %d", len(c.Zone), MaxZoneLen)
	case len(c.GRPCAddr) > MaxAddrLen:
		return bad("GRPCAddr", "%d bytes, limit %d", len(c.GRPCAddr), MaxAddrLen)
	case len(c.HTTPAddr) > MaxAddrLen:
		return bad("HTTPAddr", "%d bytes, limit %d", len(c.HTTPAddr), MaxAddrLen)
	case len(c.PeerAddr) > MaxAddrLen:
		return bad("PeerAddr", "%d bytes, limit %d", len(c.PeerAddr), MaxAddrLen)
	case !(c.Weight >= 0) || c.Weight > maxWeight:
		return bad("Weight", "%v is not finite and non-negative", c.Weight)
	case c.InitialStatus != 0 && c.InitialStatus != StatusActive && c.InitialStatus != StatusJoining:
		return bad("InitialStatus", "%v; want active or joining", c.InitialStatus)
	case c.BindPort < 0 || c.BindPort > 65535:
		return bad("BindPort", "%d out of range", c.BindPort)
	case c.AdvertisePort < 0 || c.AdvertisePort > 65535:
		return bad("AdvertisePort", "%d out of range", c.AdvertisePort)
	case c.LeaveTimeout < 0 || c.JoinBackoff < 0 || c.JoinMaxBackoff < 0:
		return bad("LeaveTimeout/JoinBackoff/JoinMaxBackoff", "negative duration")
	}
	if n := len(c.SecretKey); n != 0 {
		if err := memberlist.ValidateKey(c.SecretKey); err != nil {
			return bad("SecretKey", "%d bytes; want 16, 24 or 32", n)
		}
	}
	id := c.NodeID
	if id == "" {
		id = generatedIDPlaceholder
	}
	if _, err := EncodeMeta(Meta{NodeID: id, Zone: c.Zone, GRPCAddr: c.GRPCAddr, HTTPAddr: c.HTTPAddr, PeerAddr: c.PeerAddr}); err != nil {
		return bad("NodeID/Zone/GRPCAddr/HTTPAddr/PeerAddr", "%v", err)
	}
	return nil
}

// generatedIDPlaceholder has the length of a generated node ID, for size
// checks made before the ID is known.
const generatedIDPlaceholder = "00000000000000000000000000000000"

// withDefaults returns c with zero values replaced by their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.InitialStatus == 0 {
		c.InitialStatus = d.InitialStatus
	}
	if c.BindAddr == "" {
		c.BindAddr = d.BindAddr
	}
	if c.Memberlist == nil {
		c.Memberlist = d.Memberlist
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.LeaveTimeout == 0 {
		c.LeaveTimeout = d.LeaveTimeout
	}
	if c.JoinBackoff == 0 {
		c.JoinBackoff = d.JoinBackoff
	}
	if c.JoinMaxBackoff == 0 {
		c.JoinMaxBackoff = d.JoinMaxBackoff
	}
	if c.JoinMaxBackoff < c.JoinBackoff {
		c.JoinMaxBackoff = c.JoinBackoff
	}
	return c
}
