package client

import (
	"context"

	"github.com/chorusdb/chorus/transport/pb"
)

// Result is the answer to a read.
type Result struct {
	// Found is false when no replica has the key or it was deleted.
	Found bool
	// Values are the live siblings: one value normally, more after
	// concurrent writes that no later write reconciled.
	Values [][]byte
	// Context is the causal context to pass back with WithContext on the
	// next write or delete of the key. It is set for a deleted key too.
	Context string
	// Sloppy is true when a fallback stood in for a primary.
	Sloppy bool
	// Replicas are the replicas that answered, in answer order.
	Replicas []string
}

// Value returns the only value, or nil when the key was not found or has
// siblings.
func (r *Result) Value() []byte {
	if len(r.Values) != 1 {
		return nil
	}
	return r.Values[0]
}

// WriteResult is the answer to a write or delete.
type WriteResult struct {
	// Context is the key's causal context after the write.
	Context string
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
		Context:  resp.GetContext(),
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

// Put writes value under key. Pass the context of the read the value is
// based on with WithContext; without it the write is blind. A write is
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
		resp, err = kv.Put(ctx, &pb.PutRequest{Key: key, Value: value, Context: r.context, Quorum: r.quorum()})
		return err
	})
	if err != nil {
		return nil, err
	}
	c.noteInfo(resp.GetInfo())
	return writeResult(resp.GetContext(), resp.GetInfo()), nil
}

// Delete deletes key by writing a tombstone; pass the read's context with
// WithContext so that the values it saw are superseded. It is a write:
// the rule of Put applies.
func (c *Client) Delete(ctx context.Context, key []byte, opts ...Option) (*WriteResult, error) {
	r, err := newRequest(c.cfg.Defaults, opts)
	if err != nil {
		return nil, err
	}
	var resp *pb.DeleteResponse
	err = c.do(ctx, key, r, false, func(ctx context.Context, kv pb.KVClient) error {
		var err error
		resp, err = kv.Delete(ctx, &pb.DeleteRequest{Key: key, Context: r.context, Quorum: r.quorum()})
		return err
	})
	if err != nil {
		return nil, err
	}
	c.noteInfo(resp.GetInfo())
	return writeResult(resp.GetContext(), resp.GetInfo()), nil
}

func writeResult(ctx string, info *pb.QuorumInfo) *WriteResult {
	return &WriteResult{Context: ctx, Sloppy: info.GetSloppy(), Replicas: info.GetReplicas()}
}

// GetMerged reads key and resolves siblings with merge. When the read
// returns more than one value, merge combines them, the merged value is
// written back with the read's context (so that it supersedes exactly the
// siblings merged, and they collapse into one), and GetMerged returns a
// Result holding the merged value and the write's context. With one value
// or none it returns the read unchanged and writes nothing. The options
// apply to both the read and the write; WithContext is ignored. If the
// write-back fails, the error is returned and the siblings stay.
func (c *Client) GetMerged(ctx context.Context, key []byte, merge func(values [][]byte) []byte, opts ...Option) (*Result, error) {
	res, err := c.Get(ctx, key, opts...)
	if err != nil || len(res.Values) < 2 {
		return res, err
	}
	merged := merge(res.Values)
	w, err := c.Put(ctx, key, merged, append(opts[:len(opts):len(opts)], WithContext(res.Context))...)
	if err != nil {
		return nil, err
	}
	return &Result{Found: true, Values: [][]byte{merged}, Context: w.Context,
		Sloppy: w.Sloppy, Replicas: w.Replicas}, nil
}
