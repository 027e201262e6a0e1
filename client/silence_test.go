package client

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/transport/pb"
)

// A write sent to a silent node (it answers neither the write nor a ping)
// ends after SilenceAfter with a timeout that says it may have been
// applied; it is not re-sent, and the next request goes to another
// primary.
func TestSilentNodeEndsTheWaitAndIsPassedOver(t *testing.T) {
	fc := newFakeCluster(t, 3, 8, 3)
	clk := clock.NewFake(time.Unix(1_000_000, 0))
	c := newClient(t, fc, func(cfg *Config) { cfg.Clock, cfg.SilenceAfter = clk, 200*time.Millisecond })
	key := []byte("paused")
	prim := fc.primaries(t, c, key)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	prim[0].setHandlers(func(f *fakeNode) {
		f.paused = release
		f.put = func(*pb.PutRequest) (*pb.PutResponse, error) {
			<-release
			return &pb.PutResponse{}, nil
		}
	})
	waiters := refresherArmed(t, clk)

	done := make(chan error, 1)
	go func() {
		_, err := c.Put(testCtx(t), key, []byte("v"))
		done <- err
	}()
	chorustest.Eventually(t, "the write reaches the paused node", func() bool {
		_, puts, _ := prim[0].counts()
		return puts == 1
	})
	if err := clk.BlockUntil(testCtx(t), waiters+1); err != nil { // the watch
		t.Fatal(err)
	}
	clk.Advance(100 * time.Millisecond)                           // the ping goes out and is not answered
	if err := clk.BlockUntil(testCtx(t), waiters+1); err != nil { // the ping's bound
		t.Fatal(err)
	}
	clk.Advance(100 * time.Millisecond)
	err := <-done
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "nor a ping") {
		t.Fatalf("Put to a silent node: %v; want a timeout saying the node answered neither", err)
	}

	if _, err := c.Put(testCtx(t), key, []byte("v2")); err != nil {
		t.Fatalf("the next Put: %v; want it sent to another primary", err)
	}
	_, puts0, _ := prim[0].counts()
	_, puts1, _ := prim[1].counts()
	if puts0 != 1 || puts1 != 1 {
		t.Fatalf("primaries got %d and %d puts, want 1 and 1: a write is never re-sent, later ones pass the silent node over", puts0, puts1)
	}
}

// A node that is slow but answers the ping keeps the request.
func TestSlowNodeThatAnswersPingsIsWaitedFor(t *testing.T) {
	fc := newFakeCluster(t, 3, 8, 3)
	clk := clock.NewFake(time.Unix(1_000_000, 0))
	c := newClient(t, fc, func(cfg *Config) { cfg.Clock, cfg.SilenceAfter = clk, 200*time.Millisecond })
	key := []byte("slow")
	prim := fc.primaries(t, c, key)
	release := make(chan struct{})
	prim[0].setHandlers(func(f *fakeNode) {
		f.put = func(*pb.PutRequest) (*pb.PutResponse, error) {
			<-release
			return &pb.PutResponse{}, nil
		}
	})
	waiters := refresherArmed(t, clk)
	done := make(chan error, 1)
	go func() {
		_, err := c.Put(context.Background(), key, []byte("v"))
		done <- err
	}()
	chorustest.Eventually(t, "the write reaches the node", func() bool {
		_, puts, _ := prim[0].counts()
		return puts == 1
	})
	if err := clk.BlockUntil(testCtx(t), waiters+1); err != nil {
		t.Fatal(err)
	}
	infos := fc.infoCalls()
	clk.Advance(100 * time.Millisecond) // the ping goes out and is answered
	chorustest.Eventually(t, "the ping is answered", func() bool { return fc.infoCalls() > infos })
	chorustest.Eventually(t, "the ping's bound is gone", func() bool { return clk.Waiters() == waiters })
	clk.Advance(time.Second)
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Put to a slow node: %v; want its answer", err)
	}
}

// refresherArmed waits until the client's refresher has armed its ticker
// and returns the number of armed timers then.
func refresherArmed(t *testing.T, clk *clock.Fake) int {
	t.Helper()
	if err := clk.BlockUntil(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	return clk.Waiters()
}
