package server

import (
	"context"
	"net/http"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
)

// A node serves client requests only once it knows the ring and which
// nodes are up: until its join (or bootstrap) has completed and its ring
// is built from what it learned. Before that, a restarted node has its
// ring from disk but takes every other node for down, and would answer
// 503 "not enough replicas up" (or, for a read it can serve alone, a value
// the others may have superseded). Its listeners open early, since the
// addresses it advertises must be known before it joins, and other nodes
// need its internode service while it joins; so the client routes answer
// "starting" instead, which clients treat as "try another node".

// startingMessage is the error of a request that reached a starting node.
const startingMessage = "server: node starting: it does not know the ring and which nodes are up yet; " +
	"retry shortly or ask another node"

// retryAfterSeconds is the Retry-After of an HTTP answer from a starting
// node: joining takes well under a second once a seed answers.
const retryAfterSeconds = "1"

// readyGate serves kv once ready is set, and answers Unavailable before.
type readyGate struct {
	pb.UnimplementedKVServer
	kv    pb.KVServer
	ready *atomic.Bool
}

var _ pb.KVServer = readyGate{}

func (g readyGate) check() error {
	if !g.ready.Load() {
		return transport.Refuse(status.New(codes.Unavailable, startingMessage))
	}
	return nil
}

func (g readyGate) Get(ctx context.Context, r *pb.GetRequest) (*pb.GetResponse, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	return g.kv.Get(ctx, r)
}

func (g readyGate) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	return g.kv.Put(ctx, r)
}

func (g readyGate) Delete(ctx context.Context, r *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	return g.kv.Delete(ctx, r)
}

func (g readyGate) ClusterInfo(ctx context.Context, r *pb.ClusterInfoRequest) (*pb.ClusterInfoResponse, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	return g.kv.ClusterInfo(ctx, r)
}

// whenReady serves h once ready reports true, and before answers 503 in
// JSON with a Retry-After.
func whenReady(ready func() bool, h http.HandlerFunc) http.HandlerFunc {
	if ready == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if !ready() {
			w.Header().Set("Retry-After", retryAfterSeconds)
			writeError(w, http.StatusServiceUnavailable, startingMessage)
			return
		}
		h(w, r)
	}
}
