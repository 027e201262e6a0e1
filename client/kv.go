package client

import (
	"context"
	"fmt"

	"github.com/chorusdb/chorus/transport/pb"
)

// Causal is a key's causal context: an opaque token that a read returns
// and the write based on it passes back (WithCausal), so that the write
// supersedes exactly the values the read saw. It is not a
// context.Context. Its text form is what the CLI prints and takes
// (--context) and what the HTTP API carries (X-Chorus-Context).
type Causal string

// Result is the answer to a read.
type Result struct {
	// Found is false when no replica has the key or it was deleted.
	Found bool
	// Values are the live siblings: one value normally, more after
	// concurrent writes that no later write reconciled.
	Values [][]byte
	// Causal is the causal context to pass back with WithCausal on the
	// next write or delete of the key. It is set for a deleted key too.
	Causal Causal
	// Sloppy is true when a fallback stood in for a primary.
	Sloppy bool
	// Replicas are the replicas that answered, in answer order.
	Replicas []string
}

// Value returns the key's one value. A key that was not found (or was
// deleted) returns an error matching ErrNotFound, and a key with
// siblings one matching ErrSiblings: never a silent nil. Read Values to
// see every sibling, or use GetMerged to resolve them.
func (r *Result) Value() ([]byte, error) {
	switch {
	case !r.Found || len(r.Values) == 0:
		return nil, &Error{Code: ErrNotFound.Code, Message: "not found"}
	case len(r.Values) > 1:
		return nil, fmt.Errorf("%w (%d values)", ErrSiblings, len(r.Values))
	}
	return r.Values[0], nil
}

// WriteResult is the answer to a write or delete.
type WriteResult struct {
	// Causal is the key's causal context after the write.
	Causal Causal
	// Sloppy is true when a fallback stood in for a primary.
	Sloppy bool
	// Replicas are the replicas that acknowledged, in answer order.
	Replicas []string
}

// Get reads key. A missing or deleted key is not an error: Result.Found is
// false. Reads are retried on another replica (see Config.ReadRetries).
func (c *Client) Get(ctx context.Context, key []byte, opts ...Option) (*Result, error) {
	r, err := newRequest(c.cfg.Defaults, opts)
	if err != nil {
		return nil, err
	}
	var resp *pb.GetResponse
	err = c.do(ctx, key, r, true, func(ctx context.Context, kv pb.KVClient) error {
		var err error
		resp, err = kv.Get(ctx, &pb.GetRequest{Key: key, Quorum: r.quorum()})
		return err
	})
	if err != nil {
		return nil, err
	}
	c.noteInfo(resp.GetInfo())
	res := &Result{
		Causal:   Causal(resp.GetContext()),
		Sloppy:   resp.GetInfo().GetSloppy(),
		Replicas: resp.GetInfo().GetReplicas(),
	}
	for _, s := range resp.GetSiblings() {
		if !s.GetTombstone() {
			res.Values = append(res.Values, s.GetValue())
		}
	}
	res.Found = resp.GetFound() && len(res.Values) > 0
	return res, nil
}

// Put writes value under key. Pass the causal context of the read the
// value is based on with WithCausal; without it the write is blind. A write is
// sent to one node only and never retried once sent (see the package
// documentation).
func (c *Client) Put(ctx context.Context, key, value []byte, opts ...Option) (*WriteResult, error) {
	r, err := newRequest(c.cfg.Defaults, opts)
	if err != nil {
		return nil, err
	}
	var resp *pb.PutResponse
	err = c.do(ctx, key, r, false, func(ctx context.Context, kv pb.KVClient) error {
		var err error
		resp, err = kv.Put(ctx, &pb.PutRequest{Key: key, Value: value, Context: string(r.causal), Quorum: r.quorum()})
		return err
	})
	if err != nil {
		return nil, err
	}
	c.noteInfo(resp.GetInfo())
	return writeResult(resp.GetContext(), resp.GetInfo()), nil
}

// Delete deletes key by writing a tombstone; pass the read's causal
// context with WithCausal so that the values it saw are superseded. It is a write:
// the rule of Put applies.
func (c *Client) Delete(ctx context.Context, key []byte, opts ...Option) (*WriteResult, error) {
	r, err := newRequest(c.cfg.Defaults, opts)
	if err != nil {
		return nil, err
	}
	var resp *pb.DeleteResponse
	err = c.do(ctx, key, r, false, func(ctx context.Context, kv pb.KVClient) error {
		var err error
		resp, err = kv.Delete(ctx, &pb.DeleteRequest{Key: key, Context: string(r.causal), Quorum: r.quorum()})
		return err
	})
	if err != nil {
		return nil, err
	}
	c.noteInfo(resp.GetInfo())
	return writeResult(resp.GetContext(), resp.GetInfo()), nil
}

func writeResult(ctx string, info *pb.QuorumInfo) *WriteResult {
	return &WriteResult{Causal: Causal(ctx), Sloppy: info.GetSloppy(), Replicas: info.GetReplicas()}
}

// Merge resolves the siblings of key into one value. It may fail (a
// sibling it cannot decode, say): GetMerged then returns its error
// wrapped, and writes nothing.
type Merge func(key []byte, siblings [][]byte) ([]byte, error)

// GetMerged reads key and resolves siblings with merge. When the read
// returns more than one value, merge combines them, the merged value is
// written back with the read's causal context (so that it supersedes
// exactly the siblings merged, and they collapse into one), and GetMerged
// returns a Result holding the merged value and the write's causal
// context. With one value or none it returns the read unchanged, writes
// nothing and does not call merge. The options apply to both the read and
// the write; WithCausal is ignored. If merge or the write-back fails, the
// error is returned and the siblings stay.
func (c *Client) GetMerged(ctx context.Context, key []byte, merge Merge, opts ...Option) (*Result, error) {
	res, err := c.Get(ctx, key, opts...)
	if err != nil || len(res.Values) < 2 {
		return res, err
	}
	merged, err := merge(key, res.Values)
	if err != nil {
		return nil, fmt.Errorf("client: merge %d siblings of %q: %w", len(res.Values), key, err)
	}
	w, err := c.Put(ctx, key, merged, append(opts[:len(opts):len(opts)], WithCausal(res.Causal))...)
	if err != nil {
		return nil, err
	}
	return &Result{Found: true, Values: [][]byte{merged}, Causal: w.Causal,
		Sloppy: w.Sloppy, Replicas: w.Replicas}, nil
}
