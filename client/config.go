package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/ring"
)

// Defaults of Config, as DefaultConfig returns them.
const (
	DefaultDialTimeout     = 3 * time.Second
	DefaultRequestTimeout  = 5 * time.Second
	DefaultReadRetries     = 2
	DefaultRefreshInterval = 10 * time.Second
	DefaultSilenceAfter    = time.Second
)

// NoRetries, as Config.ReadRetries, turns read retries off (zero means the
// default).
const NoRetries = -1

// NoSilenceWatch, as Config.SilenceAfter, turns the silence watch off.
const NoSilenceWatch = -1

// Config configures a Client. A zero field takes its default; DefaultConfig
// returns the defaults with the local endpoint 127.0.0.1:9090.
type Config struct {
	// Endpoints are the gRPC addresses ("host:port") of any nodes of the
	// cluster. New asks them in order for the routing table; afterwards
	// they serve only as a fallback when the table is empty or its nodes
	// are all unreachable. At least one is required.
	Endpoints []string
	// DialTimeout bounds how long a request waits for a connection to a
	// node before it moves on to the next one. Default 3 s.
	DialTimeout time.Duration
	// RequestTimeout bounds each attempt of a request (a retried read gets
	// a new one), unless the caller's context ends first. When a request's
	// quorum timeout (WithTimeout, Defaults.Timeout) plus one second is
	// longer, that is used instead, so the server's quorum error arrives
	// before the client gives up. Default 5 s.
	RequestTimeout time.Duration
	// ReadRetries is how many times a read that failed with Unavailable or
	// DeadlineExceeded is retried on another replica. Default 2;
	// NoRetries (negative) turns retries off.
	ReadRetries int
	// RefreshInterval is the period of the routing table refresh. The
	// table is also refreshed at once when a request finds a node
	// unreachable or a quorum served sloppily. Default 10 s.
	RefreshInterval time.Duration
	// SilenceAfter bounds the wait on a node that stopped answering (a
	// paused process, a link cut without an error): half-way through, a
	// request still unanswered pings the node (ClusterInfo), and if that
	// is not answered by SilenceAfter either, the request ends with
	// DeadlineExceeded and the node is marked down. A read then goes to
	// the next replica; a write is not re-sent (it may have been
	// applied). A node that answers the ping is slow, not silent, and the
	// request waits for it. Default 1 s (forwarding nodes use 250 ms: a
	// client may be farther away, and a false alarm fails a write that
	// would have succeeded); NoSilenceWatch (negative) turns the watch off.
	SilenceAfter time.Duration
	// Defaults are the quorum settings of every request; per-request
	// Options override them field by field. Zero fields mean the server's
	// defaults.
	Defaults Quorum
	// Logger receives debug and warning logs (refresh failures, table
	// changes). Nil discards them.
	Logger *slog.Logger
	// Clock times the refresh period and how long a node stays marked
	// down. Nil means real time; tests step a clock.Fake.
	Clock clock.Clock
	// TLS, when set, makes every connection TLS with this configuration
	// (certs.LoadClient builds one from a certificates directory: the
	// cluster CA, and a client certificate when there is one). The server
	// name checked is the host of each node's address unless ServerName
	// is set. Nil means plaintext, for clusters started with --insecure.
	TLS *tls.Config
	// Token is a bearer token sent with every call as the gRPC metadata
	// "authorization: Bearer TOKEN" (the server looks it up in its auth
	// file). It requires TLS, so that it never crosses the network in the
	// clear by accident, unless AllowTokenWithoutTLS is set.
	Token string
	// AllowTokenWithoutTLS sends Token over a plaintext connection (a
	// test, a TLS-terminating proxy on the same host). Anyone on the path
	// can read and replay it.
	AllowTokenWithoutTLS bool
	// DialOptions are appended to the client's own gRPC dial options
	// (transport credentials from TLS, the token, 16 MiB messages), so
	// they may override them.
	DialOptions []grpc.DialOption
}

// Quorum holds the per-request replication settings. A zero field means
// the server's default (N=3, R=2, W=2, PR=PW=0, durable, 2 s).
type Quorum struct {
	// N is the number of replicas, R and W the replies a read or write
	// waits for, PR and PW how many of those must be primaries (not
	// fallbacks).
	N, R, W, PR, PW int
	// Timeout is the server's quorum deadline, in milliseconds on the wire.
	Timeout time.Duration
	// NotDurable skips the per-write sync on the replicas.
	NotDurable bool
	// ReadRepair is how a read asks the replicas (see ReadRepair); empty
	// means the server's default, ReadRepairDigest.
	ReadRepair ReadRepair
}

// ReadRepair is how a read asks the replicas for their copies of a key.
type ReadRepair string

const (
	// ReadRepairDigest reads the value from one replica and digests from
	// the others; a replica whose digest differs is asked for its value
	// and repaired. The server's default.
	ReadRepairDigest ReadRepair = "digest"
	// ReadRepairAll reads the value from every replica: more traffic,
	// the same answers and repairs.
	ReadRepairAll ReadRepair = "all"
)

// Validate reports settings that no server accepts: negative values,
// values above ring.MaxReplicas, and R, W, PR or PW above an explicit N.
func (q Quorum) Validate() error {
	fields := []struct {
		name string
		v    int
	}{{"n", q.N}, {"r", q.R}, {"w", q.W}, {"pr", q.PR}, {"pw", q.PW}}
	var errs []error
	for _, f := range fields {
		if f.v < 0 || f.v > ring.MaxReplicas {
			errs = append(errs, fmt.Errorf("%s must be in [0, %d] (0: server default), got %d", f.name, ring.MaxReplicas, f.v))
		} else if q.N > 0 && f.v > q.N {
			errs = append(errs, fmt.Errorf("%s (%d) must not exceed n (%d)", f.name, f.v, q.N))
		}
	}
	if q.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout must not be negative, got %v", q.Timeout))
	}
	if q.PR > 0 && q.R > 0 && q.PR > q.R {
		errs = append(errs, fmt.Errorf("pr (%d) must not exceed r (%d)", q.PR, q.R))
	}
	if q.PW > 0 && q.W > 0 && q.PW > q.W {
		errs = append(errs, fmt.Errorf("pw (%d) must not exceed w (%d)", q.PW, q.W))
	}
	switch q.ReadRepair {
	case "", ReadRepairDigest, ReadRepairAll:
	default:
		errs = append(errs, fmt.Errorf("read repair %q must be %q or %q", q.ReadRepair, ReadRepairDigest, ReadRepairAll))
	}
	return errors.Join(errs...)
}

// DefaultConfig returns the defaults documented on Config, with the single
// endpoint 127.0.0.1:9090.
func DefaultConfig() Config {
	return Config{
		Endpoints:       []string{"127.0.0.1:9090"},
		DialTimeout:     DefaultDialTimeout,
		RequestTimeout:  DefaultRequestTimeout,
		ReadRetries:     DefaultReadRetries,
		SilenceAfter:    DefaultSilenceAfter,
		RefreshInterval: DefaultRefreshInterval,
	}
}

// Validate reports a missing endpoint, a negative duration or bad quorum
// defaults. Errors wrap ErrInvalid.
func (c Config) Validate() error {
	var errs []error
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("no endpoints"))
	}
	for i, e := range c.Endpoints {
		if e == "" {
			errs = append(errs, fmt.Errorf("endpoint %d is empty", i))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"DialTimeout", c.DialTimeout}, {"RequestTimeout", c.RequestTimeout}, {"RefreshInterval", c.RefreshInterval}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %v", d.name, d.v))
		}
	}
	if c.Token != "" && c.TLS == nil && !c.AllowTokenWithoutTLS {
		errs = append(errs, errors.New("a Token needs TLS (or AllowTokenWithoutTLS to send it in the clear)"))
	}
	if strings.ContainsFunc(c.Token, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		errs = append(errs, errors.New("the Token holds spaces or control or non-ASCII characters"))
	}
	if err := c.Defaults.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("defaults: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return invalid("config: %v", err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.DialTimeout == 0 {
		c.DialTimeout = d.DialTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.ReadRetries == 0 {
		c.ReadRetries = d.ReadRetries
	} else if c.ReadRetries < 0 {
		c.ReadRetries = 0
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = d.RefreshInterval
	}
	if c.SilenceAfter == 0 {
		c.SilenceAfter = d.SilenceAfter
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}
