package etcdtarget

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorusdb/chorus/bench"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrClosed is returned by the operations of a closed Target.
var ErrClosed = errors.New("etcdtarget: closed")

// Target drives an etcd cluster with the v3 client. It implements
// bench.Target, bench.Deleter and bench.ErrorKinder, and is safe for
// concurrent use.
type Target struct {
	cfg    Config
	cli    *clientv3.Client
	getOps []clientv3.OpOption

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var (
	_ bench.Target      = (*Target)(nil)
	_ bench.Deleter     = (*Target)(nil)
	_ bench.ErrorKinder = (*Target)(nil)
)

// New validates cfg, creates the client and checks that at least one
// endpoint answers a (serializable) read within cfg.DialTimeout, or
// before ctx ends; otherwise it fails with the endpoints it tried. ctx
// bounds only that check, not the Target's life: call Close.
func New(ctx context.Context, cfg Config) (*Target, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		// The client logs every retry and reconnect with zap at info
		// level by default, which would flood a benchmark's stderr.
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcdtarget: client for %v: %w", cfg.Endpoints, err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	// A serializable read needs no leader: it checks that some member
	// answers, which is what "dial" means here. A cluster without quorum
	// passes and then fails requests, which the run counts.
	if _, err := cli.Get(pctx, "etcdtarget-probe", clientv3.WithSerializable(), clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcdtarget: no endpoint of %v answered within %v: %w", cfg.Endpoints, cfg.DialTimeout, err)
	}
	t := &Target{cfg: cfg, cli: cli}
	if cfg.Serializable {
		t.getOps = []clientv3.OpOption{clientv3.WithSerializable()}
	}
	return t, nil
}

// Put writes value under key.
func (t *Target) Put(ctx context.Context, key, value []byte) error {
	if t.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := t.opContext(ctx)
	defer cancel()
	// string() copies, so the runner may reuse key and value.
	if _, err := t.cli.Put(ctx, string(key), string(value)); err != nil {
		return &opError{op: "put", err: err}
	}
	return nil
}

// Get reads key (linearizably unless Config.Serializable); it returns
// bench.ErrNotFound when the key has no value.
func (t *Target) Get(ctx context.Context, key []byte) error {
	if t.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := t.opContext(ctx)
	defer cancel()
	resp, err := t.cli.Get(ctx, string(key), t.getOps...)
	if err != nil {
		return &opError{op: "get", err: err}
	}
	if len(resp.Kvs) == 0 {
		return bench.ErrNotFound
	}
	return nil
}

// Delete removes key; deleting a missing key is not an error.
func (t *Target) Delete(ctx context.Context, key []byte) error {
	if t.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := t.opContext(ctx)
	defer cancel()
	if _, err := t.cli.Delete(ctx, string(key)); err != nil {
		return &opError{op: "delete", err: err}
	}
	return nil
}

// opContext bounds one request by RequestTimeout, unless ctx already ends
// sooner (then it saves the timer).
func (t *Target) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= t.cfg.RequestTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, t.cfg.RequestTimeout)
}

// Close closes the client; requests still in flight fail. It is
// idempotent.
func (t *Target) Close() error {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		// Client.Close reports the cancellation of its own context.
		if err := t.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
			t.closeErr = fmt.Errorf("etcdtarget: close client: %w", err)
		}
	})
	return t.closeErr
}

// opError is the error of a Put, Get or Delete: "etcdtarget: put: ...".
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return "etcdtarget: " + e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// Error kinds that are not a gRPC code and message.
const (
	KindTimeout  = "timeout"
	KindCanceled = "canceled"
	KindClosed   = "closed"
)

// ErrorKind names the kind of an error of Put, Get or Delete, for the
// runner's error counts: KindTimeout when the request ran out of time
// (context.DeadlineExceeded, or gRPC's DeadlineExceeded), KindCanceled and
// KindClosed likewise, and otherwise the gRPC code and etcd's message with
// addresses replaced by "<addr>", e.g. "Unavailable: etcdserver: request
// timed out, possibly due to previous leader failure".
func (t *Target) ErrorKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, ErrClosed):
		return KindClosed
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return kindOf(ee.Code(), ee.Error())
	}
	// status.FromError would report the message of the outermost error;
	// the status itself carries just the server's (or gRPC's) message.
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		if s := se.GRPCStatus(); s != nil {
			return kindOf(s.Code(), s.Message())
		}
	}
	var oe *opError
	if errors.As(err, &oe) {
		err = oe.err
	}
	return stripAddrs(err.Error())
}

func kindOf(code codes.Code, msg string) string {
	switch code {
	case codes.DeadlineExceeded:
		return KindTimeout
	case codes.Canceled:
		return KindCanceled
	}
	return code.String() + ": " + stripAddrs(msg)
}

// addrRE matches what varies between members and connections in gRPC and
// etcd messages: URLs, IPv4 and bracketed IPv6 addresses and localhost,
// each with an optional port.
var addrRE = regexp.MustCompile(`(?:[a-z][a-z0-9+.-]*://)?(?:\[[0-9A-Fa-f:.]+\]|\d{1,3}(?:\.\d{1,3}){3}|localhost)(?::\d+)?`)

func stripAddrs(msg string) string { return addrRE.ReplaceAllString(msg, "<addr>") }
