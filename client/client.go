package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"

	"github.com/chorusdb/chorus/silence"
	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
)

// Client is a Chorus client. It is safe for concurrent use; Close it when
// done.
type Client struct {
	cfg   Config
	opts  []grpc.DialOption
	table atomic.Pointer[table]

	mu     sync.Mutex
	closed bool
	conns  map[string]*grpc.ClientConn
	down   map[string]time.Time
	// dialErrs holds the last dial error of each address (see
	// recordingDialer).
	dialErrs map[string]error

	refreshNow chan struct{}
	stop       chan struct{}
	stopCtx    context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// New connects to the cluster: it fetches the routing table from the first
// endpoint that answers (an error wrapping ErrUnavailable when none does)
// and starts the refresher goroutine.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg: cfg,
		opts: append([]grpc.DialOption{
			transportCredentials(cfg),
			// A node that restarts is back within the second: gRPC's default
			// reconnect backoff grows to 2 minutes, far longer than a restart.
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
				MinConnectTimeout: time.Second,
			}),
			grpc.WithDefaultCallOptions(
				grpc.MaxCallRecvMsgSize(transport.DefaultMaxMsgSize),
				grpc.MaxCallSendMsgSize(transport.DefaultMaxMsgSize),
			),
		}, append(tokenCredentials(cfg), cfg.DialOptions...)...),
		conns:      map[string]*grpc.ClientConn{},
		down:       map[string]time.Time{},
		dialErrs:   map[string]error{},
		refreshNow: make(chan struct{}, 1),
		stop:       make(chan struct{}),
	}
	c.stopCtx, c.cancel = context.WithCancel(context.Background())
	if _, err := c.refresh(ctx); err != nil {
		c.closeConns()
		c.cancel()
		return nil, err
	}
	c.wg.Add(1)
	go c.refreshLoop()
	return c, nil
}

// Close stops the refresher, waits for it and closes every connection.
// Requests in flight fail; later ones return ErrClosed. Close is
// idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	c.cancel()
	c.wg.Wait()
	return c.closeConns()
}

func (c *Client) closeConns() error {
	c.mu.Lock()
	conns := c.conns
	c.conns = nil
	c.closed = true
	c.mu.Unlock()
	var errs []error
	for addr, cc := range conns {
		if err := cc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("client: close %s: %w", addr, err))
		}
	}
	return errors.Join(errs...)
}

// conn returns the one connection to addr, creating it on first use.
func (c *Client) conn(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if cc, ok := c.conns[addr]; ok {
		return cc, nil
	}
	// The recording dialer comes first so that a dialer in
	// Config.DialOptions (a test's in-memory network) still wins.
	opts := append([]grpc.DialOption{grpc.WithContextDialer(c.recordingDialer(addr))}, c.opts...)
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, invalid("address %q: %v", addr, err)
	}
	c.conns[addr] = cc
	return cc, nil
}

// errNotConnected marks a connection failure before anything was sent.
var errNotConnected = errors.New("not connected")

// kv returns a KV client of addr once its connection is ready, waiting at
// most DialTimeout. An error wrapping errNotConnected means no request
// was sent; the node is then marked down.
func (c *Client) kv(ctx context.Context, addr string) (pb.KVClient, error) {
	cc, err := c.conn(addr)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	for {
		s := cc.GetState()
		switch s {
		case connectivity.Ready:
			return pb.NewKVClient(cc), nil
		case connectivity.Idle:
			cc.Connect()
		case connectivity.TransientFailure, connectivity.Shutdown:
			c.markDown(addr)
			return nil, notConnected(addr, c.dialFailure(addr))
		}
		if !cc.WaitForStateChange(wctx, s) {
			if ctx.Err() != nil {
				return nil, convert(ctx.Err(), addr)
			}
			c.markDown(addr)
			return nil, notConnected(addr, "no connection within "+c.cfg.DialTimeout.String())
		}
	}
}

func notConnected(addr, why string) error {
	return fmt.Errorf("%w: %w", &Error{Code: codes.Unavailable, NotSent: true,
		Message: fmt.Sprintf("cannot connect to %s: %s", addr, why), Node: addr}, errNotConnected)
}

// attemptTimeout is the deadline of one attempt (see Config.RequestTimeout).
func (c *Client) attemptTimeout(r *request) time.Duration {
	return max(c.cfg.RequestTimeout, r.q.Timeout+time.Second)
}

// do sends one request for key. It tries the candidates in order: a node
// whose connection cannot be made is skipped (nothing was sent), and a
// read that failed after being sent with Unavailable or DeadlineExceeded
// is retried on the next candidate, at most ReadRetries times. A write is
// sent to one node at most: once sent, its error is returned as is.
func (c *Client) do(ctx context.Context, key []byte, r *request, read bool,
	call func(ctx context.Context, kv pb.KVClient) error) error {
	if c.isClosed() {
		return ErrClosed
	}
	retries := 0
	var last error
	candidates := c.candidates(key)
	if r.via != "" {
		candidates = []string{r.via}
	}
	for _, addr := range candidates {
		kv, err := c.kv(ctx, addr)
		if err != nil {
			last = err
			if errors.Is(err, errNotConnected) {
				continue
			}
			return unwrapNotConnected(err)
		}
		actx, cancel := context.WithTimeout(ctx, c.attemptTimeout(r))
		silent, raw := c.send(actx, kv, call)
		cancel()
		if silent {
			// Paused, or cut off without an error: later requests go
			// elsewhere until the next refresh says otherwise.
			c.markDown(addr)
			c.kick()
			raw = &Error{Code: codes.DeadlineExceeded, Node: addr, Message: fmt.Sprintf(
				"%s answered neither the request nor a ping within %v", addr, c.cfg.SilenceAfter)}
		}
		err = convert(raw, addr)
		if err == nil {
			return nil
		}
		e := err.(*Error)
		code := e.Code
		if code == codes.DeadlineExceeded && !read {
			e.Message += "; the write may have been applied"
		}
		if code == codes.Unavailable {
			c.kick()
			if neverSent(err) || transport.NotHandled(raw) {
				e.NotSent = true
				// The connection broke after the readiness check and
				// gRPC failed the call while redialing (nothing left
				// this process), or the node refused the request
				// unhandled (it is starting): any request may go to
				// the next node.
				c.markDown(addr)
				last = err
				continue
			}
		}
		if !read || ctx.Err() != nil || retries >= c.cfg.ReadRetries ||
			(code != codes.Unavailable && code != codes.DeadlineExceeded) {
			return err
		}
		retries++
		last = err
		c.cfg.Logger.Debug("client: retrying read", "node", addr, "err", err)
	}
	if last == nil {
		last = &Error{Code: codes.Unavailable, NotSent: true, Message: "no node to send the request to"}
	}
	return unwrapNotConnected(last)
}

// send makes one call to kv under the silence watch (Config.SilenceAfter)
// and reports whether the node was found silent.
func (c *Client) send(ctx context.Context, kv pb.KVClient, call func(context.Context, pb.KVClient) error) (silent bool, err error) {
	if c.cfg.SilenceAfter < 0 {
		return false, call(ctx, kv)
	}
	ping := func(ctx context.Context) error {
		_, err := kv.ClusterInfo(ctx, &pb.ClusterInfoRequest{})
		return err
	}
	silent = silence.Watch(ctx, c.cfg.Clock, c.cfg.SilenceAfter, ping, func(ctx context.Context) {
		err = call(ctx, kv)
	})
	return silent, err
}

// neverSent reports whether err is gRPC's failure of a call that found no
// connection to send on: it failed while dialing, so the request was not
// written to any connection.
func neverSent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == codes.Unavailable &&
		strings.Contains(e.Message, "Error while dialing")
}

// unwrapNotConnected returns the *Error inside a notConnected error.
func unwrapNotConnected(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return err
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// noteInfo triggers a refresh when a fallback stood in for a primary: some
// primary is down or slow, and the table may say so now.
func (c *Client) noteInfo(info *pb.QuorumInfo) {
	if info.GetSloppy() {
		c.kick()
	}
}

// recordingDialer dials addr over TCP and remembers why the last attempt
// failed, so that "cannot connect" can say "connection refused" where
// gRPC only reports its connection state.
func (c *Client) recordingDialer(addr string) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, target string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", target)
		c.mu.Lock()
		if err != nil {
			c.dialErrs[addr] = err
		} else {
			delete(c.dialErrs, addr)
		}
		c.mu.Unlock()
		return conn, err
	}
}

// undialedReason says why addr failed when no dial failed: gRPC resolves
// the name itself, and a TCP connection that opened may still fail its
// TLS or HTTP/2 handshake, which gRPC reports only as its connection
// state; withTLS says which side of a TLS mismatch this client is on.
func undialedReason(addr string, withTLS bool) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "bad address: " + err.Error()
	}
	if net.ParseIP(host) == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
			var dns *net.DNSError
			if errors.As(err, &dns) {
				return dns.Error()
			}
			return "cannot resolve " + host + ": " + err.Error()
		}
	}
	if withTLS {
		return "connection failed after TCP connected: the TLS handshake failed (a plaintext node, a certificate the node does not accept, or a node certificate not signed by this CA; the node's log says which)"
	}
	return "connection failed after TCP connected: the node did not answer plaintext gRPC (a TLS node? connect with --certs-dir)"
}

// dialFailure says in words why the connection to addr failed.
func (c *Client) dialFailure(addr string) string {
	c.mu.Lock()
	err := c.dialErrs[addr]
	c.mu.Unlock()
	var errno syscall.Errno
	var dns *net.DNSError
	var ne net.Error
	switch {
	case err == nil:
		return undialedReason(addr, c.cfg.TLS != nil)
	case errors.As(err, &dns):
		return dns.Error()
	case errors.As(err, &errno):
		return errno.Error()
	case errors.As(err, &ne) && ne.Timeout():
		return "connection timed out"
	}
	return err.Error()
}
