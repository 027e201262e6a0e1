package gossip

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// memberlistConfig builds memberlist's Config from the preset and ours.
func (m *Membership) memberlistConfig() *memberlist.Config {
	c := *m.cfg.Memberlist // a copy: the preset is the caller's
	c.Name = m.id
	c.BindAddr = m.cfg.BindAddr
	c.BindPort = m.cfg.BindPort
	c.AdvertiseAddr = m.advertiseIP()
	c.AdvertisePort = m.cfg.AdvertisePort
	if c.AdvertisePort == 0 {
		c.AdvertisePort = c.BindPort
	}
	c.Transport = m.cfg.Transport
	c.SecretKey = m.cfg.SecretKey
	c.Keyring = nil
	c.Delegate = (*delegate)(m)
	c.Events = (*events)(m)
	c.LogOutput = nil
	c.Logger = log.New(&logWriter{log: m.log.With("lib", "memberlist")}, "", 0)
	return &c
}

// advertiseIP returns Config.AdvertiseAddr as the IP memberlist needs. A
// DNS name (a Kubernetes pod's stable name, a compose service) is resolved
// once here; if it does not resolve yet, memberlist picks the address of
// a private interface, as it does with no advertise address, which is the
// same address in a container with one network.
func (m *Membership) advertiseIP() string {
	host := m.cfg.AdvertiseAddr
	if host == "" || net.ParseIP(host) != nil {
		return host
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		m.log.Warn("advertised name does not resolve; gossip advertises a private interface's address",
			"node", m.id, "advertise", host, "err", err)
		return ""
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return ip.String()
		}
	}
	return ips[0].String()
}

// delegate implements memberlist.Delegate. memberlist calls it from its
// packet and stream goroutines, so no method blocks: remote states go to
// the apply loop through enqueue, and every buffer is decoded (copied)
// before the method returns.
type delegate Membership

var _ memberlist.Delegate = (*delegate)(nil)

func (d *delegate) NodeMeta(limit int) []byte {
	if len(d.meta) > limit {
		d.log.Error("node metadata exceeds memberlist's limit", "bytes", len(d.meta), "limit", limit)
		return nil
	}
	return d.meta
}

func (d *delegate) NotifyMsg(b []byte) { d.receive(b, "broadcast") }

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.queue.GetBroadcasts(overhead, limit)
}

// LocalState returns the current encoded ring state. memberlist only
// reads it, and the snapshot's encoding is never modified, so it is
// shared rather than copied.
func (d *delegate) LocalState(join bool) []byte { return d.cur.Load().enc }

func (d *delegate) MergeRemoteState(b []byte, join bool) { d.receive(b, "push/pull") }

func (d *delegate) receive(b []byte, via string) {
	s, err := DecodeState(b)
	if err != nil {
		d.log.Warn("dropping malformed ring state", "via", via, "bytes", len(b), "err", err)
		return
	}
	(*Membership)(d).enqueue(s)
}

// events implements memberlist.EventDelegate: it keeps the live map.
// memberlist calls it with its node lock held, so it must not call back
// into memberlist; it only updates the map and notifies.
type events Membership

var _ memberlist.EventDelegate = (*events)(nil)

func (e *events) NotifyJoin(n *memberlist.Node)   { e.setLive(n, true) }
func (e *events) NotifyUpdate(n *memberlist.Node) { e.setLive(n, true) }
func (e *events) NotifyLeave(n *memberlist.Node)  { e.setLive(n, false) }

func (e *events) setLive(n *memberlist.Node, alive bool) {
	lm := LiveMember{GossipAddr: net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))}
	if meta, err := DecodeMeta(n.Meta); err == nil {
		lm.Meta = meta
	} else {
		e.log.Warn("malformed node metadata", "node", n.Name, "err", err)
	}
	lm.NodeID = n.Name // memberlist's name is authoritative
	if alive {
		(*Membership)(e).notePeer(n.Name, lm.GossipAddr)
	}
	e.liveMu.Lock()
	if alive {
		e.live[n.Name] = lm
	} else {
		delete(e.live, n.Name)
	}
	e.liveMu.Unlock()
	e.log.Debug("liveness changed", "node", n.Name, "alive", alive)
	(*Membership)(e).notify()
}

// recordBroadcast carries one changed ring record, encoded as a State of
// one record. A newer broadcast about the same node replaces an older
// one still queued (records only move up the merge order, so the newer is
// always the winner).
type recordBroadcast struct {
	id  string
	msg []byte
}

var _ memberlist.NamedBroadcast = (*recordBroadcast)(nil)

func newRecordBroadcast(r MemberRecord) *recordBroadcast {
	return &recordBroadcast{id: r.ID, msg: EncodeState(NewState(r))}
}

func (b *recordBroadcast) Name() string    { return "ring/" + b.id }
func (b *recordBroadcast) Message() []byte { return b.msg }
func (b *recordBroadcast) Finished()       {}
func (b *recordBroadcast) Invalidates(o memberlist.Broadcast) bool {
	nb, ok := o.(memberlist.NamedBroadcast)
	return ok && nb.Name() == b.Name()
}

// logWriter turns memberlist's "[LEVEL] memberlist: text" lines into
// slog records at the matching level.
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, l := range []struct {
		tag   string
		level slog.Level
	}{
		{"[DEBUG]", slog.LevelDebug}, {"[INFO]", slog.LevelInfo},
		{"[WARN]", slog.LevelWarn}, {"[ERR]", slog.LevelError}, {"[ERROR]", slog.LevelError},
	} {
		if rest, ok := bytes.CutPrefix(line, []byte(l.tag)); ok {
			level, line = l.level, bytes.TrimSpace(rest)
			break
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	w.log.Log(context.Background(), level, string(line))
	return len(p), nil
}
