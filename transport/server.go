package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/chorusdb/chorus/transport/pb"
)

// DefaultMaxMsgSize is the default limit on one gRPC message, each way. It
// is four times DefaultPeersConfig().MaxBatchBytes so that a full batch
// plus its framing always fits.
const DefaultMaxMsgSize = 16 << 20

// ServerConfig tunes a Server. A zero field takes its default from
// DefaultServerConfig.
type ServerConfig struct {
	// MaxRecvMsgSize bounds a received message in bytes; larger ones fail
	// with codes.ResourceExhausted and the server keeps serving.
	// Default 16 MiB.
	MaxRecvMsgSize int
	// MaxSendMsgSize bounds a sent message in bytes. Default 16 MiB.
	MaxSendMsgSize int
	// KeepaliveMinTime is the shortest interval between client pings the
	// server tolerates; a client pinging more often is disconnected.
	// Default 10 s, below PoolConfig's default KeepaliveTime of 30 s.
	KeepaliveMinTime time.Duration
	// KeepaliveTime is how long a connection may be idle before the
	// server pings the client. Default 1 min.
	KeepaliveTime time.Duration
	// KeepaliveTimeout is how long the server waits for a ping's answer
	// before closing the connection. Default 20 s.
	KeepaliveTimeout time.Duration
	// StopTimeout bounds how long Close lets in-flight RPCs finish before
	// it cuts the connections. Default 5 s.
	StopTimeout time.Duration
	// HandshakeTimeout bounds how long a new connection may take to send
	// its HTTP/2 preface and settings; one that stays silent is closed.
	// Default 10 s (gRPC's own is 2 min).
	HandshakeTimeout time.Duration
	// StreamInFlight bounds the batches of each kind (Replicate, Fetch)
	// that one Internode stream has handled at once; the stream reads no
	// further batch of a kind while all its slots are busy. Default 8:
	// twice PeersConfig's default MaxInFlight, so that batches a sender
	// gave up on at their deadline, still running here, leave room for
	// new ones.
	StreamInFlight int
	// TLS, when set, secures every connection (its callbacks are kept, so
	// certificates it reads on each handshake may change); nil serves
	// plaintext.
	TLS *tls.Config
	// Options are more gRPC server options, applied after the ones above:
	// the client listener's authorization interceptors, say. Nil: none.
	Options []grpc.ServerOption
}

// DefaultServerConfig returns the defaults described on ServerConfig.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		MaxRecvMsgSize:   DefaultMaxMsgSize,
		MaxSendMsgSize:   DefaultMaxMsgSize,
		KeepaliveMinTime: 10 * time.Second,
		KeepaliveTime:    time.Minute,
		KeepaliveTimeout: 20 * time.Second,
		StopTimeout:      5 * time.Second,
		HandshakeTimeout: 10 * time.Second,
		StreamInFlight:   8,
	}
}

// withDefaults returns c with every zero field set to its default.
func (c ServerConfig) withDefaults() ServerConfig {
	d := DefaultServerConfig()
	setDefault(&c.MaxRecvMsgSize, d.MaxRecvMsgSize)
	setDefault(&c.MaxSendMsgSize, d.MaxSendMsgSize)
	setDefault(&c.KeepaliveMinTime, d.KeepaliveMinTime)
	setDefault(&c.KeepaliveTime, d.KeepaliveTime)
	setDefault(&c.KeepaliveTimeout, d.KeepaliveTimeout)
	setDefault(&c.StopTimeout, d.StopTimeout)
	setDefault(&c.HandshakeTimeout, d.HandshakeTimeout)
	setDefault(&c.StreamInFlight, d.StreamInFlight)
	return c
}

// Validate reports a field that is out of range. Zero fields are valid:
// they mean the default.
func (c ServerConfig) Validate() error {
	var errs []error
	errs = append(errs, nonNegative("MaxRecvMsgSize", c.MaxRecvMsgSize))
	errs = append(errs, nonNegative("MaxSendMsgSize", c.MaxSendMsgSize))
	errs = append(errs, nonNegative("KeepaliveMinTime", c.KeepaliveMinTime))
	errs = append(errs, nonNegative("KeepaliveTime", c.KeepaliveTime))
	errs = append(errs, nonNegative("KeepaliveTimeout", c.KeepaliveTimeout))
	errs = append(errs, nonNegative("StopTimeout", c.StopTimeout))
	errs = append(errs, nonNegative("HandshakeTimeout", c.HandshakeTimeout))
	errs = append(errs, nonNegative("StreamInFlight", c.StreamInFlight))
	return errors.Join(errs...)
}

// Server serves one node's gRPC API: the client-facing KV service and the
// node-to-node Internode service.
type Server struct {
	cfg     ServerConfig
	grpc    *grpc.Server
	streams *streamHandler

	mu      sync.Mutex
	closed  bool
	serving sync.WaitGroup // one per running Serve call

	once    sync.Once
	stopped chan struct{} // closed when Close has finished
}

// NewServer returns a server for kv and in; either may be nil, and then
// that service is not registered (calls to it fail with
// codes.Unimplemented). The Server serves Internode.Stream itself, by
// passing each batch on the stream to in's Replicate or Fetch; in's own
// Stream method is never called.
func NewServer(kv pb.KVServer, in pb.InternodeServer, cfg ServerConfig) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("transport: server config: %w", err)
	}
	cfg = cfg.withDefaults()
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxRecvMsgSize),
		grpc.MaxSendMsgSize(cfg.MaxSendMsgSize),
		grpc.ConnectionTimeout(cfg.HandshakeTimeout),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime: cfg.KeepaliveMinTime,
			// Pools keep idle connections to every peer alive.
			PermitWithoutStream: true,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time:    cfg.KeepaliveTime,
			Timeout: cfg.KeepaliveTimeout,
		}),
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	opts = append(opts, cfg.Options...)
	g := grpc.NewServer(opts...)
	streams := &streamHandler{inFlight: cfg.StreamInFlight, quit: make(chan struct{})}
	if kv != nil {
		pb.RegisterKVServer(g, kv)
	}
	if in != nil {
		pb.RegisterInternodeServer(g, internodeService{InternodeServer: in, streams: streams})
	}
	return &Server{cfg: cfg, grpc: g, streams: streams, stopped: make(chan struct{})}, nil
}

// Serve accepts connections on lis and blocks until Close, then returns
// nil. It may be called for several listeners at once. Serve takes
// ownership of lis and closes it. Called after Close, it closes lis and
// returns ErrClosed.
func (s *Server) Serve(lis net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		lis.Close()
		return ErrClosed
	}
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()

	err := s.grpc.Serve(lis)
	if err == nil || s.isClosed() {
		return nil
	}
	return fmt.Errorf("transport: serve %s: %w", lis.Addr(), err)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops the server: it refuses new RPCs, lets in-flight ones finish
// for up to StopTimeout, then closes every connection (cancelling the
// handlers' contexts). Internode streams stop reading, answer the batches
// they have and end with codes.Unavailable. It returns once every Serve
// call and every stream goroutine has returned.
// Close is idempotent; later calls wait for the first to finish.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.streams.quit) // streams would otherwise hold GracefulStop

		graceful := make(chan struct{})
		go func() { // owned by Close, which waits for it below
			defer close(graceful)
			s.grpc.GracefulStop()
		}()
		timer := time.NewTimer(s.cfg.StopTimeout)
		defer timer.Stop()
		select {
		case <-graceful:
		case <-timer.C:
			s.grpc.Stop() // makes GracefulStop return too
			<-graceful
		}
		s.serving.Wait()
		s.streams.wg.Wait()
		close(s.stopped)
	})
	<-s.stopped
	return nil
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

func nonNegative[T int | time.Duration](field string, v T) error {
	if v < 0 {
		return fmt.Errorf("%s must not be negative, got %v", field, v)
	}
	return nil
}
