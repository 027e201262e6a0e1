package memnet

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/transport/pb"
)

// A paused node holds the requests that reach it; its caller gives up
// on its own deadline, and the request is handled after Resume anyway,
// as a stopped process reads its socket when it continues.
func TestPauseHoldsRequestsUntilResume(t *testing.T) {
	n, fakes := newNet(t, DefaultConfig())
	n.Pause("b")
	if !n.Reachable("a", "b") {
		t.Fatal("a paused node must stay reachable: no failure detector has noticed yet")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- replicate(ctx, n, "a", "b") }()
	chorustest.Eventually(t, "the request to reach b", func() bool {
		return n.Stats().Links[Link{"a", "b"}].Delivered == 1
	})
	cancel()
	wantCode(t, "call to a paused node", <-done, codes.Canceled)
	if got := fakes["b"].applied.Load(); got != 0 {
		t.Fatalf("b applied %d batches while paused, want 0", got)
	}
	n.Resume("b")
	chorustest.Eventually(t, "b to apply the held batch after Resume", func() bool { return fakes["b"].applied.Load() == 1 })
	if err := replicate(context.Background(), n, "a", "b"); err != nil {
		t.Fatalf("call after Resume: %v", err)
	}
}

// A paused node's own calls wait until it is resumed.
func TestPausedNodeSendsNothing(t *testing.T) {
	n, fakes := newNet(t, DefaultConfig())
	n.Pause("a")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	wantCode(t, "call from a paused node", replicate(ctx, n, "a", "b"), codes.DeadlineExceeded)
	if got := fakes["b"].applied.Load(); got != 0 {
		t.Fatalf("b applied %d batches a sent while paused, want 0", got)
	}
	n.Resume("a")
	if err := replicate(context.Background(), n, "a", "b"); err != nil {
		t.Fatalf("call after Resume: %v", err)
	}
}

// InterceptAnswer replaces the answer after the handler ran: the caller
// sees the failure, the handler's effect stands.
func TestInterceptAnswerAfterTheHandler(t *testing.T) {
	n, fakes := newNet(t, DefaultConfig())
	injected := status.Error(codes.Unavailable, "connection reset")
	n.InterceptAnswer(func(from, to string, req, resp proto.Message, err error) error {
		if _, ok := req.(*pb.ReplicateBatch); ok && resp != nil && err == nil {
			return injected
		}
		return nil
	})
	err := replicate(context.Background(), n, "a", "b")
	if !errors.Is(err, injected) {
		t.Fatalf("got %v, want the injected answer", err)
	}
	if got := fakes["b"].applied.Load(); got != 1 {
		t.Fatalf("b applied %d batches, want 1: the handler ran", got)
	}
	n.InterceptAnswer(nil)
	if err := replicate(context.Background(), n, "a", "b"); err != nil {
		t.Fatalf("after removing the interceptor: %v", err)
	}
}
