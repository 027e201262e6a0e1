package server_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/transport/pb"
)

// keyNotOn returns a key none of whose primaries is node.
func (c *testCluster) keyNotOn(node, prefix string) string {
	c.t.Helper()
	for i := range 1000 {
		k := fmt.Sprintf("%s-%d", prefix, i)
		if !slices.Contains(c.Primaries(k), node) {
			return k
		}
	}
	c.t.Fatalf("no key avoids %s", node)
	return ""
}

// countForwards counts the forwarded writes each node is sent.
func countForwards(c *testCluster) func(node string) int {
	var mu sync.Mutex
	got := map[string]int{}
	c.Net.Intercept(func(from, to string, msg proto.Message) error {
		if p, ok := msg.(*pb.PutRequest); ok && p.Forwarded {
			mu.Lock()
			got[to]++
			mu.Unlock()
		}
		return nil
	})
	return func(node string) int {
		mu.Lock()
		defer mu.Unlock()
		return got[node]
	}
}

// A forwarded write whose coordinator applied it but whose answer was
// lost is answered "may have been applied" and never coordinated a
// second time: the key holds one sibling, and a delete with the context
// of a read removes it for good.
func TestForwardedWriteAppliedOnceWhenAnswerLost(t *testing.T) {
	const seed = 41
	c := newTestCluster(t, seed, five...)
	key := c.keyNotOn("a", "lost-answer")
	forwards := countForwards(c)
	var failed atomic.Bool
	c.Net.InterceptAnswer(func(from, to string, req, resp proto.Message, err error) error {
		if p, ok := req.(*pb.PutRequest); ok && p.Forwarded && failed.CompareAndSwap(false, true) {
			return status.Error(codes.Unavailable, "connection reset by peer")
		}
		return nil
	})

	_, err := c.put("a", key, "v1", "", nil)
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "may have been applied") {
		t.Fatalf("seed %d: put with a lost answer: got %v, want DeadlineExceeded saying it may have been applied", seed, err)
	}
	total := 0
	for _, id := range five {
		total += forwards(id)
	}
	if total != 1 {
		t.Fatalf("seed %d: the write was forwarded %d times, want once", seed, total)
	}
	c.waitConverged(key)
	got, err := c.get("b", key, &pb.Quorum{R: 3})
	if err != nil || !slices.Equal(values(got), []string{"v1"}) {
		t.Fatalf("seed %d: read after the lost answer: %v, %v; want the one sibling v1", seed, values(got), err)
	}
	if _, err := c.del("a", key, got.Context, nil); err != nil {
		t.Fatalf("seed %d: delete: %v", seed, err)
	}
	c.waitConverged(key)
	got, err = c.get("c", key, &pb.Quorum{R: 3})
	if err != nil || got.Found {
		t.Fatalf("seed %d: read after the delete: found=%v siblings %v, err %v; want not found", seed, got.GetFound(), values(got), err)
	}
}

// A coordinator whose write quorum fails after it applied its own copy
// answers with the quorum error; the forwarder passes it on and does not
// send the write to another primary (which would mint a second dot).
func TestForwardedQuorumErrorIsTheAnswer(t *testing.T) {
	const seed = 42
	c := newTestCluster(t, seed, five...)
	key := c.keyNotOn("a", "quorum-err")
	r := c.Nodes["a"].Ring()
	first := replica.CoordinatorOrder(c.Primaries(key), r.Partition([]byte(key)))[0]
	// The first coordinator's replication fails everywhere.
	var forwards atomic.Int32
	c.Net.Intercept(func(from, to string, msg proto.Message) error {
		if _, ok := msg.(*pb.ReplicateBatch); ok && from == first {
			return status.Error(codes.Unavailable, "injected")
		}
		if p, ok := msg.(*pb.PutRequest); ok && p.Forwarded {
			forwards.Add(1)
		}
		return nil
	})

	_, err := c.put("a", key, "v1", "", nil)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "quorum not met") {
		t.Fatalf("seed %d: got %v, want the coordinator's quorum error", seed, err)
	}
	if n := forwards.Load(); n != 1 {
		t.Fatalf("seed %d: forwarded %d times, want once", seed, n)
	}
}

// With one node paused (SIGSTOP: connected, not declared dead, silent),
// writes through every other node keep succeeding: a write forwarded to
// the paused node is answered "may have been applied" within the
// forwarder's silence bound, later ones go to another primary, and no
// write is applied twice.
func TestPausedPrimaryDoesNotStallWrites(t *testing.T) {
	const seed = 43
	c := newTestCluster(t, seed, five...)
	c.Net.Pause("c")
	var keys []string
	indeterminate := 0
	for i := range 40 {
		key := fmt.Sprintf("paused-%d", i)
		via := five[i%len(five)]
		if via == "c" {
			continue
		}
		keys = append(keys, key)
		_, err := c.put(via, key, "v", "", nil)
		if err == nil {
			continue
		}
		if status.Code(err) == codes.DeadlineExceeded &&
			strings.Contains(err.Error(), "forwarded to c") {
			indeterminate++
			continue
		}
		t.Fatalf("seed %d: put %s via %s: %v; want success, or an indeterminate answer naming c", seed, key, via, err)
	}
	// Each of the four other nodes may have sent one write to c before it
	// learned c is silent; after that, c is passed over.
	if indeterminate > 4 {
		t.Fatalf("seed %d: %d writes waited on the paused node, want at most one per forwarder", seed, indeterminate)
	}
	c.Net.Resume("c")
	c.healAndDrain()
	for _, key := range keys {
		c.waitConverged(key)
		for id, s := range c.replicaSets(key) {
			if n := len(s.Values()); n != 1 {
				t.Fatalf("seed %d: %s holds %d siblings of write-once key %s, want 1: a write was applied twice", seed, id, n, key)
			}
		}
	}
}
