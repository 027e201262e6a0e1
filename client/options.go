package client

import (
	"time"

	"github.com/chorusdb/chorus/transport/pb"
)

// Option adjusts one request. Quorum options override Config.Defaults;
// zero leaves the server's default.
type Option func(*request)

type request struct {
	q      Quorum
	causal Causal
	via    string
}

// WithN sets the number of replicas N.
func WithN(n int) Option { return func(r *request) { r.q.N = n } }

// WithR sets the read quorum R: replies a read waits for.
func WithR(n int) Option { return func(r *request) { r.q.R = n } }

// WithW sets the write quorum W: acks a write or delete waits for.
func WithW(n int) Option { return func(r *request) { r.q.W = n } }

// WithPR sets PR: how many of the R replies must come from primaries.
func WithPR(n int) Option { return func(r *request) { r.q.PR = n } }

// WithPW sets PW: how many of the W acks must come from primaries.
func WithPW(n int) Option { return func(r *request) { r.q.PW = n } }

// WithTimeout sets the server's quorum deadline; the client's own deadline
// for the attempt grows to at least d + 1 s (see Config.RequestTimeout).
func WithTimeout(d time.Duration) Option { return func(r *request) { r.q.Timeout = d } }

// NotDurable makes a write or delete skip the per-write sync on replicas:
// faster, but an acknowledged write may be lost if replicas crash before
// their next sync.
func NotDurable() Option { return func(r *request) { r.q.NotDurable = true } }

// WithReadRepair sets how a read asks the replicas: ReadRepairDigest
// (the server's default) or ReadRepairAll. Writes ignore it.
func WithReadRepair(m ReadRepair) Option { return func(r *request) { r.q.ReadRepair = m } }

// WithCausal sets the causal context of a write or delete: the Causal of
// the read it is based on. The write supersedes the values that read saw;
// without it the write is blind and becomes a sibling of existing values.
// Reads ignore it.
func WithCausal(c Causal) Option { return func(r *request) { r.causal = c } }

// Via is a measurement hook, not for applications: it sends the request
// to the node at addr (a gRPC address) as its coordinator, instead of to
// a primary replica of the key, and to no other node if that fails, so a
// read is not retried. The staleness measurements of package bench use
// it to write through one node and read through others; it stays
// exported for them alone and may change without notice.
func Via(addr string) Option { return func(r *request) { r.via = addr } }

// newRequest applies opts over defaults and validates the result.
func newRequest(defaults Quorum, opts []Option) (*request, error) {
	r := &request{q: defaults}
	for _, o := range opts {
		o(r)
	}
	if err := r.q.Validate(); err != nil {
		return nil, invalid("%v", err)
	}
	return r, nil
}

func (r *request) quorum() *pb.Quorum {
	ms := r.q.Timeout.Milliseconds()
	if ms == 0 && r.q.Timeout > 0 {
		ms = 1 // a sub-millisecond timeout must not read as "default"
	}
	return &pb.Quorum{
		N:          uint32(r.q.N),
		R:          uint32(r.q.R),
		W:          uint32(r.q.W),
		Pr:         uint32(r.q.PR),
		Pw:         uint32(r.q.PW),
		NotDurable: r.q.NotDurable,
		TimeoutMs:  uint32(ms),
		ReadRepair: string(r.q.ReadRepair),
	}
}
