package hints

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/vclock"
)

var quiet = slog.New(slog.DiscardHandler)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newFakeClock returns a clock at t0 that moves only when a test says.
func newFakeClock() *clock.Fake { return clock.NewFake(t0) }

// fakeSender records deliveries; fail[target] makes deliveries to target
// fail, and hook (if set) runs inside every call before it answers.
type fakeSender struct {
	mu      sync.Mutex
	fail    map[string]error
	batches map[string][][]Hint
	calls   map[string]int
	hook    func(ctx context.Context, target string) error
}

func newFakeSender() *fakeSender {
	return &fakeSender{fail: map[string]error{}, batches: map[string][][]Hint{}, calls: map[string]int{}}
}

func (s *fakeSender) DeliverHints(ctx context.Context, target string, hs []Hint) error {
	s.mu.Lock()
	hook := s.hook
	s.calls[target]++
	err := s.fail[target]
	s.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, target); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.batches[target] = append(s.batches[target], hs)
	s.mu.Unlock()
	return nil
}

func (s *fakeSender) setFail(target string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.fail, target)
	} else {
		s.fail[target] = err
	}
}

// keys returns the keys delivered to target, in delivery order.
func (s *fakeSender) keys(target string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, b := range s.batches[target] {
		for _, h := range b {
			out = append(out, string(h.Key))
		}
	}
	return out
}

func (s *fakeSender) batchSizes(target string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, b := range s.batches[target] {
		out = append(out, len(b))
	}
	return out
}

func (s *fakeSender) callCount(target string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[target]
}

// fakeLive is a Liveness whose nodes are down until set alive.
type fakeLive struct {
	mu    sync.Mutex
	alive map[string]bool
}

func newFakeLive(alive ...string) *fakeLive {
	l := &fakeLive{alive: map[string]bool{}}
	for _, n := range alive {
		l.alive[n] = true
	}
	return l
}

func (l *fakeLive) Alive(node string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.alive[node]
}

func (l *fakeLive) set(node string, alive bool) {
	l.mu.Lock()
	l.alive[node] = alive
	l.mu.Unlock()
}

func openDB(t testing.TB, dir string) *storage.DB {
	t.Helper()
	db, err := storage.Open(dir, storage.Options{InMemory: dir == "", Logger: quiet})
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	return db
}

func memDB(t testing.TB) *storage.DB {
	t.Helper()
	db := openDB(t, "")
	t.Cleanup(func() { db.Close() })
	return db
}

// testConfig returns a Config on clock c with a quiet logger.
func testConfig(c *clock.Fake) Config {
	return Config{Clock: c, Logger: quiet}
}

// manual returns a Queue without a loop, closed when the test ends; tests
// drive it with deliverOnce.
func manual(t testing.TB, db *storage.DB, s Sender, l Liveness, cfg Config) *Queue {
	t.Helper()
	q, err := newQueue(db, s, l, cfg, false)
	if err != nil {
		t.Fatalf("newQueue: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func hint(target, key string, created time.Time) Hint {
	return Hint{Target: target, Partition: 7, Key: []byte(key),
		Set: vclock.NewSet("n1", vclock.Value{Data: []byte("v-" + key)}), Created: created}
}

func mustAdd(t testing.TB, q *Queue, h Hint) {
	t.Helper()
	if err := q.Add(context.Background(), h, false); err != nil {
		t.Fatalf("Add(%s/%s): %v", h.Target, h.Key, err)
	}
}

// addN adds n hints key0..key{n-1} for target, one nanosecond apart.
func addN(t testing.TB, q *Queue, target string, n int, from time.Time) {
	t.Helper()
	for i := range n {
		mustAdd(t, q, hint(target, fmt.Sprintf("key%d", i), from.Add(time.Duration(i))))
	}
}
