package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/server"
)

// nodeFlags are the flags of `chorus node`.
type nodeFlags struct {
	name, dataDir, httpAddr, grpcAddr, gossipAddr, advertise string
	peerAddr, certsDir                                       string
	insecure                                                 bool
	// creds are the certificates loaded from certsDir, reloaded on SIGHUP.
	creds                                    *certs.Node
	join                                     []string
	zone, gossipKey, gossipKeyFile, logLevel string
	logFormat                                string
	joinTimeout                              time.Duration
	partitions, replicas                     int
	inMemory                                 bool

	noAntiEntropy, forceRejoin    bool
	faultInjection                bool
	aaeKeysPerSec, aaeBytesPerSec int
	aaeBackoffAbove               time.Duration
	tombstoneGrace                time.Duration
	tombstoneInterval, gcInterval time.Duration
	handoffKeysPerSec             int
	backup                        backupNodeFlags
	// defaultN, defaultR and defaultW are the server-side default quorum;
	// 0 means "not given" (see defaults).
	defaultN, defaultR, defaultW int

	authFile    string // --auth-file
	openMetrics bool   // --open-metrics
}

func newNodeCmd(e *env) *cobra.Command {
	var f nodeFlags
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run one Chorus node until SIGINT or SIGTERM",
		Long: `Run one Chorus node. It serves the HTTP API on --http-addr, the gRPC API
for clients on --grpc-addr, other nodes on --peer-addr and gossip on
--gossip-addr, and keeps its data and its node ID in --data-dir, so a
restart rejoins with its data. It serves TLS with the certificates of
--certs-dir (see chorus certs), or plaintext with --insecure. Without --join it bootstraps a new cluster; with --join it retries
until one of the seeds (gossip addresses) answers.

Requests that do not set n, r or w use --default-n/-r/-w. A cluster with
fewer members than that N (one or two nodes) uses its member count as N,
and R and W at most N, so it takes default requests out of the box.

Flags may also come from CHORUS_<FLAG> environment variables and from a
YAML file given by --config whose keys are flag names:

  http-addr: 0.0.0.0:8080
  advertise: node-1.example
  join: [node-0.example:7946, node-2.example:7946]
  default-n: 3
  log-format: json

A flag on the command line wins over the environment, which wins over the
file.

On SIGTERM or SIGINT it stops taking requests, finishes those in flight,
flushes, and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd.Context(), e) },
	}
	f.register(cmd.Flags())
	return cmd
}

// run starts the node and serves until ctx ends or the node has left
// the cluster.
func (f *nodeFlags) run(ctx context.Context, e *env) error {
	cfg, err := f.config(e)
	if err != nil {
		return err
	}
	n, err := server.Start(ctx, cfg)
	if errors.Is(err, server.ErrInvalidConfig) {
		return usageError("%v", err)
	}
	if err != nil {
		return err
	}
	var reload []reloader
	if f.creds != nil {
		reload = append(reload, reloader{"certificates", f.creds.Reload})
	}
	if f.authFile != "" {
		reload = append(reload, reloader{"auth file", func() error { return reloadAuth(cfg) }})
	}
	stopReload := reloadOnHangup(ctx, cfg.Logger, reload)
	defer stopReload()
	a := n.Addrs()
	fmt.Fprintf(e.stdout, "chorus node %s ready\n  http   %s\n  grpc   %s\n  peer   %s\n  gossip %s\n", n.ID(), a.HTTP, a.GRPC, a.Peer, a.Gossip)
	select {
	case <-ctx.Done():
	case <-n.Left():
		fmt.Fprintf(e.stdout, "chorus node %s left the cluster\n", n.ID())
	}
	fmt.Fprintf(e.stdout, "chorus node %s stopping\n", n.ID())
	return n.Close()
}

// register defines the flags, with server.DefaultConfig's defaults.
func (f *nodeFlags) register(fl *pflag.FlagSet) {
	d := server.DefaultConfig()
	fl.StringVar(&f.name, "name", "", "node ID (default: the one in --data-dir, or a new random ID)")
	fl.StringVar(&f.dataDir, "data-dir", "chorus-data", "directory of the node's data")
	fl.BoolVar(&f.inMemory, "in-memory", false, "keep all data in memory (lost on exit); ignores --data-dir")
	fl.StringVar(&f.httpAddr, "http-addr", d.HTTPAddr, "HTTP API listen address")
	fl.StringVar(&f.grpcAddr, "grpc-addr", d.GRPCAddr, "gRPC API listen address (clients)")
	fl.StringVar(&f.peerAddr, "peer-addr", d.PeerAddr, "listen address for other nodes (internode gRPC; with TLS only node certificates)")
	fl.StringVar(&f.certsDir, "certs-dir", "", "directory of ca.crt, node.crt, node.key and gossip.key (see chorus certs); reloaded on SIGHUP")
	fl.BoolVar(&f.insecure, "insecure", false, "serve plaintext and unauthenticated on every port, instead of --certs-dir (experiments only)")
	fl.StringVar(&f.gossipAddr, "gossip-addr", d.GossipAddr, "gossip listen address (UDP and TCP)")
	fl.StringVar(&f.advertise, "advertise", "", "host (IP or DNS name) other nodes and clients use to reach this node (default: the listen host)")
	fl.StringSliceVar(&f.join, "join", nil, "gossip addresses (host:port, host may be a DNS name) of nodes in the cluster, comma-separated; this node's own is skipped")
	fl.DurationVar(&f.joinTimeout, "join-timeout", 0, "give up joining after this long (0: retry until a seed answers or the node is stopped)")
	fl.StringVar(&f.zone, "zone", "", "failure domain; replicas spread over zones when there are at least N")
	fl.IntVar(&f.partitions, "partitions", d.Ring.Partitions, "partitions Q (a power of two; the same on every node)")
	fl.IntVar(&f.replicas, "replicas", d.Ring.Replicas, "replicas N per partition (the same on every node)")
	fl.StringVar(&f.gossipKey, "gossip-key", "", "base64 of a 16, 24 or 32-byte key that encrypts gossip (the same on every node)")
	fl.StringVar(&f.gossipKeyFile, "gossip-key-file", "", "file holding the --gossip-key value (base64)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json; every line carries the node's ID")
	fl.IntVar(&f.defaultN, "default-n", 0, fmt.Sprintf("replicas N of requests that do not set n (default %d, or --replicas when smaller)", d.Defaults.N))
	fl.IntVar(&f.defaultR, "default-r", 0, "replies R a read waits for when it does not set r (default: a majority of the default N)")
	fl.IntVar(&f.defaultW, "default-w", 0, "acks W a write waits for when it does not set w (default: a majority of the default N)")
	addConfigFlag(fl)
	fl.BoolVar(&f.noAntiEntropy, "no-anti-entropy", false, "keep no anti-entropy trees and run no exchanges (replicas then converge only by hints and read repair)")
	fl.IntVar(&f.aaeKeysPerSec, "aae-keys-per-second", 20000, "anti-entropy budget: keys compared or synced per second")
	fl.IntVar(&f.aaeBytesPerSec, "aae-bytes-per-second", 4<<20, "anti-entropy budget: bytes synced per second")
	fl.DurationVar(&f.aaeBackoffAbove, "aae-backoff-above", 50*time.Millisecond, "pause anti-entropy while this node's recent client p99 latency is above this")
	fl.DurationVar(&f.tombstoneGrace, "tombstone-grace", time.Hour, "collect a delete's tombstone this long after it, once every replica holds it; also the longest a hint waits and a node may be down without a wipe")
	fl.DurationVar(&f.tombstoneInterval, "tombstone-interval", 10*time.Minute, "pause between two tombstone collection passes")
	fl.DurationVar(&f.gcInterval, "gc-interval", time.Minute, "how often storage garbage collection looks for disk to reclaim (value log files, an LSM tree to flatten once idle); 0 turns it off")
	fl.IntVar(&f.handoffKeysPerSec, "handoff-keys-per-second", 50000, "ownership handoff budget: keys this node pulls per second after a ring change")
	f.backup.register(fl)
	fl.BoolVar(&f.forceRejoin, "force-rejoin", false, "start even if this node was down longer than --tombstone-grace (deleted values may come back)")
	fl.BoolVar(&f.faultInjection, "fault-injection", false, "let an admin inject faults through /v1/faults (clock offset, full or slow disk), for fault tests only")
	// Authorization of the client APIs (auth.go).
	fl.StringVar(&f.authFile, "auth-file", "", "YAML file granting roles (read, write, admin) to client certificate names and bearer tokens; re-read on SIGHUP (see chorus auth)")
	fl.BoolVar(&f.openMetrics, "open-metrics", false, "serve /metrics to anyone, without the admin role")
}

// config turns the flags into a server.Config; bad values are usage
// errors.
func (f *nodeFlags) config(e *env) (server.Config, error) {
	cfg := server.DefaultConfig()
	cfg.NodeID, cfg.Zone, cfg.Advertise = f.name, f.zone, f.advertise
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.PeerAddr, cfg.GossipAddr = f.httpAddr, f.grpcAddr, f.peerAddr, f.gossipAddr
	cfg.Join = f.join
	cfg.JoinTimeout = f.joinTimeout
	if f.joinTimeout == 0 {
		cfg.JoinTimeout = -1 // retry until a seed answers or SIGTERM
	}
	if f.partitions < 1 || f.replicas < 1 {
		return cfg, usageError("--partitions %d and --replicas %d: both must be at least 1", f.partitions, f.replicas)
	}
	if f.partitions&(f.partitions-1) != 0 {
		return cfg, usageError("--partitions %d: want a power of two", f.partitions)
	}
	cfg.Ring.Partitions, cfg.Ring.Replicas = f.partitions, f.replicas
	if err := f.defaults(&cfg); err != nil {
		return cfg, err
	}
	if f.inMemory {
		cfg.InMemory = true
	} else {
		cfg.DataDir = f.dataDir
	}
	logger, err := f.logger(e)
	if err != nil {
		return cfg, err
	}
	cfg.Logger = logger
	key, err := f.key()
	if err != nil {
		return cfg, err
	}
	cfg.GossipKey = key
	if err := f.security(&cfg); err != nil {
		return cfg, err
	}
	if f.aaeKeysPerSec < 1 || f.aaeBytesPerSec < 1 || f.aaeBackoffAbove <= 0 {
		return cfg, usageError("--aae-keys-per-second, --aae-bytes-per-second and --aae-backoff-above must be positive")
	}
	if f.handoffKeysPerSec < 1 {
		return cfg, usageError("--handoff-keys-per-second %d: want at least 1", f.handoffKeysPerSec)
	}
	cfg.Handoff.KeysPerSecond = f.handoffKeysPerSec
	if f.tombstoneGrace < time.Second {
		return cfg, usageError("--tombstone-grace %v: want at least 1s", f.tombstoneGrace)
	}
	cfg.NoAntiEntropy, cfg.ForceRejoin = f.noAntiEntropy, f.forceRejoin
	cfg.FaultInjection = f.faultInjection
	cfg.AntiEntropy.KeysPerSecond, cfg.AntiEntropy.BytesPerSecond = f.aaeKeysPerSec, f.aaeBytesPerSec
	cfg.AntiEntropy.BackoffAbove = f.aaeBackoffAbove
	cfg.Tombstones.Grace = f.tombstoneGrace
	if f.tombstoneInterval < time.Second || f.gcInterval < 0 || f.gcInterval > 0 && f.gcInterval < time.Second {
		return cfg, usageError("--tombstone-interval %v, --gc-interval %v: want at least 1s (or --gc-interval 0: off)",
			f.tombstoneInterval, f.gcInterval)
	}
	cfg.Tombstones.Interval = f.tombstoneInterval
	cfg.StorageGCInterval = f.gcInterval
	if f.gcInterval == 0 {
		cfg.StorageGCInterval = -1
	}
	if err := f.backup.apply(&cfg); err != nil {
		return cfg, err
	}
	if cfg.Auth, err = f.authConfig(cfg.TLS != nil, cfg.Logger); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError("%v", err)
	}
	return cfg, nil
}

// security loads the certificates of --certs-dir into cfg, with the
// gossip key of the directory unless --gossip-key says otherwise; a node
// without them runs only when --insecure says so.
func (f *nodeFlags) security(cfg *server.Config) error {
	switch {
	case f.certsDir == "" && !f.insecure:
		return usageError("a node serves TLS: give --certs-dir DIR (create one with chorus certs create-ca and create-node) or --insecure to serve plaintext")
	case f.certsDir != "" && f.insecure:
		return usageError("--certs-dir and --insecure: give one")
	case f.insecure:
		return nil
	}
	creds, err := certs.LoadNode(f.certsDir, cfg.Logger)
	if err != nil {
		return usageError("--certs-dir: %v", err)
	}
	if cfg.GossipKey == nil {
		key, err := creds.GossipKey()
		if err != nil {
			return usageError("--certs-dir: %v", err)
		}
		if key == nil {
			return usageError("--certs-dir %s has no %s: gossip is encrypted when TLS is on (chorus certs create-ca writes one; or give --gossip-key)",
				f.certsDir, certs.GossipKeyFile)
		}
		cfg.GossipKey = key
	}
	cfg.TLS, f.creds = creds, creds
	return nil
}

// key returns the gossip key of --gossip-key or --gossip-key-file, nil
// when neither is given.
func (f *nodeFlags) key() ([]byte, error) {
	key, source := f.gossipKey, "--gossip-key"
	if f.gossipKeyFile != "" {
		if key != "" {
			return nil, usageError("--gossip-key and --gossip-key-file: give one")
		}
		b, err := os.ReadFile(f.gossipKeyFile)
		if err != nil {
			return nil, usageError("--gossip-key-file: %v", err)
		}
		key, source = strings.TrimSpace(string(b)), "--gossip-key-file "+f.gossipKeyFile
	}
	if key == "" {
		return nil, nil
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || (len(raw) != 16 && len(raw) != 24 && len(raw) != 32) {
		return nil, usageError("%s: want the base64 of a 16, 24 or 32-byte key (e.g. from: head -c 32 /dev/urandom | base64)", source)
	}
	return raw, nil
}

// defaults sets the server-side default quorum from --default-n/-r/-w.
// Without --default-n, N is the usual 3, or --replicas when smaller:
// requests may not ask for more replicas than the ring keeps. R and W not
// given are a majority of N (2 of 3, 3 of 5), strict as the defaults are.
func (f *nodeFlags) defaults(cfg *server.Config) error {
	d := &cfg.Defaults
	n := f.defaultN
	switch {
	case n == 0:
		n = min(d.N, f.replicas)
	case n < 0 || n > f.replicas:
		return usageError("--default-n %d: want 1 to --replicas %d", n, f.replicas)
	}
	majority := n/2 + 1
	r, w := cmp.Or(f.defaultR, majority), cmp.Or(f.defaultW, majority)
	if r < 1 || r > n {
		return usageError("--default-r %d: want 1 to the default n %d", r, n)
	}
	if w < 1 || w > n {
		return usageError("--default-w %d: want 1 to the default n %d", w, n)
	}
	d.N, d.R, d.W = n, r, w
	return nil
}

// logger returns a logger to stderr at --log-level in --log-format.
func (f *nodeFlags) logger(e *env) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, usageError("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	l, err := newLogger(e.stderr, f.logFormat, &slog.HandlerOptions{Level: level})
	if err != nil {
		return nil, err
	}
	// Named once the node knows its ID, also for the lines of its
	// certificates and of SIGHUP reloads, which are set up before it.
	return server.NamedLogger(l, f.name), nil
}

// newLogger returns a text or JSON logger (--log-format) writing to w.
func newLogger(w io.Writer, format string, opts *slog.HandlerOptions) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError("--log-format %q: want text or json", format)
}
