package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/chorusdb/chorus/sourceaddr"
	"github.com/chorusdb/chorus/transport/pb"
)

// PoolConfig tunes a Pool. A zero field takes its default from
// DefaultPoolConfig.
type PoolConfig struct {
	// MaxRecvMsgSize bounds a received message in bytes. Default 16 MiB.
	MaxRecvMsgSize int
	// MaxSendMsgSize bounds a sent message in bytes; a larger request
	// fails locally with codes.ResourceExhausted. Default 16 MiB.
	MaxSendMsgSize int
	// KeepaliveTime is how long a connection may be idle before the client
	// pings the server; it must not be below the server's
	// KeepaliveMinTime. Default 30 s.
	KeepaliveTime time.Duration
	// KeepaliveTimeout is how long the client waits for a ping's answer
	// before it considers the connection dead. Default 10 s.
	KeepaliveTimeout time.Duration
	// TLS, when set, secures every connection (its callbacks are kept, so
	// certificates it reads on each handshake may change); nil dials
	// plaintext.
	TLS *tls.Config
	// TLSFor, when set, secures the connection to each address with a
	// configuration of its own (one that checks the server's certificate
	// names that address, IP addresses included, which a shared
	// configuration cannot: TLS sends no IP address as the server name).
	// It takes precedence over TLS.
	TLSFor func(addr string) *tls.Config
	// SourceIP, when set, is the local address connections are made from
	// where it can reach the peer (sourceaddr.Dialer): the node's own
	// listen address, so that rules naming a node by its address (a
	// firewall, a partition) see its outgoing connections too. Nil lets
	// the kernel choose.
	SourceIP net.IP
	// DialOptions are appended to the pool's own options (for tests).
	DialOptions []grpc.DialOption
}

// DefaultPoolConfig returns the defaults described on PoolConfig.
func DefaultPoolConfig() PoolConfig {
	return PoolConfig{
		MaxRecvMsgSize:   DefaultMaxMsgSize,
		MaxSendMsgSize:   DefaultMaxMsgSize,
		KeepaliveTime:    30 * time.Second,
		KeepaliveTimeout: 10 * time.Second,
	}
}

func (c PoolConfig) withDefaults() PoolConfig {
	d := DefaultPoolConfig()
	setDefault(&c.MaxRecvMsgSize, d.MaxRecvMsgSize)
	setDefault(&c.MaxSendMsgSize, d.MaxSendMsgSize)
	setDefault(&c.KeepaliveTime, d.KeepaliveTime)
	setDefault(&c.KeepaliveTimeout, d.KeepaliveTimeout)
	return c
}

// Validate reports a field that is out of range. Zero fields are valid:
// they mean the default.
func (c PoolConfig) Validate() error {
	return errors.Join(
		nonNegative("MaxRecvMsgSize", c.MaxRecvMsgSize),
		nonNegative("MaxSendMsgSize", c.MaxSendMsgSize),
		nonNegative("KeepaliveTime", c.KeepaliveTime),
		nonNegative("KeepaliveTimeout", c.KeepaliveTimeout),
	)
}

// Pool holds one gRPC connection per address. Connections are created on
// first use and connect lazily (grpc.NewClient); gRPC multiplexes every
// call over the one connection and reconnects it with backoff when it
// breaks. A Pool is safe for concurrent use.
type Pool struct {
	opts   []grpc.DialOption
	tlsFor func(addr string) *tls.Config

	mu     sync.Mutex
	closed bool
	conns  map[string]*poolConn
}

type poolConn struct {
	cc *grpc.ClientConn
	in pb.InternodeClient
	kv pb.KVClient
}

// NewPool returns an empty pool.
func NewPool(cfg PoolConfig) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("transport: pool config: %w", err)
	}
	cfg = cfg.withDefaults()
	creds := insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = credentials.NewTLS(cfg.TLS)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(cfg.MaxRecvMsgSize),
			grpc.MaxCallSendMsgSize(cfg.MaxSendMsgSize),
		),
		// A node that restarts is back within the second: gRPC's default
		// reconnect backoff grows to 2 minutes, far longer than a restart.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:    cfg.KeepaliveTime,
			Timeout: cfg.KeepaliveTimeout,
			// Peers talk in bursts; keep idle connections warm so that
			// the next burst does not pay for a handshake.
			PermitWithoutStream: true,
		}),
	}
	if cfg.SourceIP != nil {
		d := sourceaddr.Dialer{Local: cfg.SourceIP}
		opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}))
	}
	opts = append(opts, cfg.DialOptions...)
	return &Pool{opts: opts, tlsFor: cfg.TLSFor, conns: make(map[string]*poolConn)}, nil
}

func (p *Pool) conn(addr string) (*poolConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if c, ok := p.conns[addr]; ok {
		return c, nil
	}
	opts := p.opts
	if p.tlsFor != nil { // the last transport credentials given win
		opts = append(opts[:len(opts):len(opts)], grpc.WithTransportCredentials(credentials.NewTLS(p.tlsFor(addr))))
	}
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("transport: dial %s: %w: %w", addr, ErrUnreachable, err)
	}
	c := &poolConn{cc: cc, in: pb.NewInternodeClient(cc), kv: pb.NewKVClient(cc)}
	p.conns[addr] = c
	return c, nil
}

// Internode returns a client of the Internode service at addr
// ("host:port").
func (p *Pool) Internode(addr string) (pb.InternodeClient, error) {
	c, err := p.conn(addr)
	if err != nil {
		return nil, err
	}
	return c.in, nil
}

// KV returns a client of the KV service at addr ("host:port").
func (p *Pool) KV(addr string) (pb.KVClient, error) {
	c, err := p.conn(addr)
	if err != nil {
		return nil, err
	}
	return c.kv, nil
}

// Ready reports whether a call to addr could be sent now: false when the
// connection to addr is known broken (gRPC would fail the call while
// dialing, sending nothing). A connection not made yet is started, and
// counts as ready: a call waits for it.
func (p *Pool) Ready(addr string) bool {
	c, err := p.conn(addr)
	if err != nil {
		return false
	}
	switch c.cc.GetState() {
	case connectivity.TransientFailure, connectivity.Shutdown:
		return false
	case connectivity.Idle:
		c.cc.Connect()
	}
	return true
}

// Dialer returns a Dialer that maps a node ID to its address with resolve
// (typically gossip metadata) and returns the pool's Internode client for
// that address.
func (p *Pool) Dialer(resolve func(node string) (addr string, err error)) Dialer {
	return func(node string) (pb.InternodeClient, error) {
		addr, err := resolve(node)
		if err != nil {
			return nil, fmt.Errorf("transport: resolve %s: %w: %w", node, ErrUnreachable, err)
		}
		return p.Internode(addr)
	}
}

// Forget closes the connection to addr, if any, failing its in-flight
// calls. Use it when no node uses addr any more; a later call for addr
// makes a new connection.
func (p *Pool) Forget(addr string) {
	p.mu.Lock()
	c, ok := p.conns[addr]
	delete(p.conns, addr)
	p.mu.Unlock()
	if ok {
		c.cc.Close()
	}
}

// Close closes every connection; later calls return ErrClosed. Close is
// idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.closed = true
	p.mu.Unlock()
	var errs []error
	for addr, c := range conns {
		if err := c.cc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("transport: close %s: %w", addr, err))
		}
	}
	return errors.Join(errs...)
}
