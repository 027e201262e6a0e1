package handoff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/clock"

	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/vclock"
)

// errInjected is returned by the fakes' injected failures.
var errInjected = errors.New("handoff test: injected failure")

// fakeStore is an in-memory Store: partition -> key -> set.
type fakeStore struct {
	mu    sync.Mutex
	data  map[uint32]map[string]vclock.Set
	state []byte
	saves int

	// mergeErr and saveErr, when set, inject failures.
	mergeErr func(p uint32, key []byte) error
	saveErr  func() error
}

var _ Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{data: map[uint32]map[string]vclock.Set{}}
}

func (s *fakeStore) Merge(ctx context.Context, p uint32, key []byte, set vclock.Set) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mergeErr != nil {
		if err := s.mergeErr(p, key); err != nil {
			return err
		}
	}
	part := s.data[p]
	if part == nil {
		part = map[string]vclock.Set{}
		s.data[p] = part
	}
	part[string(key)] = vclock.Sync(part[string(key)], set)
	return nil
}

func (s *fakeStore) LoadState() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.state), nil
}

func (s *fakeStore) SaveState(ctx context.Context, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saveErr != nil {
		if err := s.saveErr(); err != nil {
			return err
		}
	}
	s.state = bytes.Clone(b)
	s.saves++
	return nil
}

// put writes a fresh value of key in partition p, as node wrote it.
func (s *fakeStore) put(p uint32, key, node string) {
	set := vclock.NewSet(node, vclock.Value{Data: []byte(key)})
	if err := s.Merge(context.Background(), p, []byte(key), set); err != nil {
		panic(err)
	}
}

// keys returns the sorted keys of partition p.
func (s *fakeStore) keys(p uint32) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.data[p]))
}

// has reports whether partition p holds key.
func (s *fakeStore) has(p uint32, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.data[p][key]
	return ok
}

func (s *fakeStore) saveCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

// scan returns the page of p after `after`, at most limit keys, in key
// order.
func (s *fakeStore) scan(p uint32, after []byte, limit int) ([]Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.Sorted(maps.Keys(s.data[p]))
	i, _ := slices.BinarySearch(keys, string(after))
	if i < len(keys) && after != nil && keys[i] == string(after) {
		i++
	}
	rest := keys[i:]
	done := len(rest) <= limit
	rest = rest[:min(len(rest), limit)]
	items := make([]Item, len(rest))
	for j, k := range rest {
		items[j] = Item{Key: []byte(k), Set: s.data[p][k]}
	}
	return items, done
}

// scanKey names the partition of a node.
type scanKey struct {
	node string
	p    uint32
}

// fakeSource serves pages from other nodes' fake stores.
type fakeSource struct {
	mu     sync.Mutex
	stores map[string]*fakeStore
	// incomplete marks the partitions a node answers Complete=false for.
	incomplete map[scanKey]bool
	// complete, when set, overrides incomplete (wired to the nodes'
	// managers in the property test).
	complete func(node string, p uint32) bool
	// hook runs before every scan; an error fails it. It may block.
	hook func(ctx context.Context, node string, p uint32, after []byte) error

	calls  map[scanKey]int // Scan calls
	pages  map[scanKey]int // pages served
	served map[scanKey]int // keys served
}

var _ Source = (*fakeSource)(nil)

func newFakeSource() *fakeSource {
	return &fakeSource{stores: map[string]*fakeStore{}, incomplete: map[scanKey]bool{},
		calls: map[scanKey]int{}, pages: map[scanKey]int{}, served: map[scanKey]int{}}
}

// node returns node's store, creating it.
func (f *fakeSource) node(id string) *fakeStore {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stores[id]
	if s == nil {
		s = newFakeStore()
		f.stores[id] = s
	}
	return s
}

func (f *fakeSource) setIncomplete(node string, p uint32, v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.incomplete[scanKey{node, p}] = v
}

func (f *fakeSource) setHook(h func(ctx context.Context, node string, p uint32, after []byte) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

func (f *fakeSource) Scan(ctx context.Context, node string, p uint32, after []byte, limit int) (Page, error) {
	f.mu.Lock()
	k := scanKey{node, p}
	f.calls[k]++
	hook, st, complete := f.hook, f.stores[node], f.complete
	whole := !f.incomplete[k]
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, node, p, after); err != nil {
			return Page{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	if st == nil {
		return Page{}, fmt.Errorf("handoff test: unknown node %q", node)
	}
	if complete != nil {
		whole = complete(node, p)
	}
	items, done := st.scan(p, after, limit)
	f.mu.Lock()
	f.pages[k]++
	f.served[k] += len(items)
	f.mu.Unlock()
	return Page{Items: items, Done: done, Complete: whole}, nil
}

// servedKeys returns the keys served of partition p, over every node.
func (f *fakeSource) servedKeys(p uint32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, v := range f.served {
		if k.p == p {
			n += v
		}
	}
	return n
}

// pagesFrom returns how many pages node served of p.
func (f *fakeSource) pagesFrom(node string, p uint32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pages[scanKey{node, p}]
}

// fakeLiveness reports every node alive except those set down.
type fakeLiveness struct {
	mu   sync.Mutex
	down map[string]bool
}

var _ Liveness = (*fakeLiveness)(nil)

func newFakeLiveness() *fakeLiveness { return &fakeLiveness{down: map[string]bool{}} }

func (l *fakeLiveness) Alive(node string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.down[node]
}

func (l *fakeLiveness) setDown(node string, down bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down[node] = down
}

// t0 is the start of the fake clocks.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// testConfig is a manual, unpaced config for self, on a fake clock of its
// own (fakeClock returns it).
func testConfig(self string, st Store, src Source, live Liveness) Config {
	return Config{
		Self: self, Store: st, Source: src, Liveness: live,
		Manual:        true,
		KeysPerSecond: 1 << 30,
		RetryAfter:    5 * time.Millisecond,
		Clock:         clock.NewFake(t0),
		Logger:        slog.New(slog.DiscardHandler),
	}
}

// fakeClock returns the fake clock of a testConfig.
func fakeClock(cfg Config) *clock.Fake { return cfg.Clock.(*clock.Fake) }

// driveStep runs m.Step on a goroutine and, each time it waits on clk (a
// page retry), moves clk by every, until Step returns; it returns Step's
// answer. So a transfer that retries until it stalls runs through its
// StallAfter without the test sleeping.
func driveStep(t testing.TB, clk *clock.Fake, m *Manager, every time.Duration) bool {
	t.Helper()
	done := make(chan bool, 1)
	go func() { done <- m.Step() }()
	ctx, cancel := context.WithTimeout(context.Background(), chorustest.Timeout)
	defer cancel()
	for {
		waiting, stop := context.WithCancel(ctx)
		armed := make(chan error, 1)
		go func() { armed <- clk.BlockUntil(waiting, 1) }()
		select {
		case ok := <-done:
			stop()
			<-armed
			return ok
		case err := <-armed:
			stop()
			if err != nil {
				t.Fatalf("Step neither returned nor waited on the clock: %v", err)
			}
			clk.Advance(every)
		}
	}
}

func mustNew(t testing.TB, cfg Config) *Manager {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func mustRing(t testing.TB, recs ...ring.Member) *ring.Ring {
	t.Helper()
	r, err := ring.New(recs, ring.Config{Partitions: 16, Replicas: 3})
	if err != nil {
		t.Fatalf("ring.New(%v): %v", recs, err)
	}
	return r
}

// gained returns the partitions self gains from prev to next, with the
// node each replaces ("" when none).
func gained(prev, next *ring.Ring, self string) map[uint32]string {
	out := map[uint32]string{}
	for _, mv := range ring.Moves(prev, next) {
		if mv.To == self {
			out[mv.Partition] = mv.From
		}
	}
	return out
}

// stepAll runs Step until it reports no transfer to run.
func stepAll(m *Manager) int {
	n := 0
	for m.Step() {
		n++
	}
	return n
}

// seedKeys puts, on every primary of every partition of r, keys named
// after the node, so the test can tell which source a key came from.
func seedKeys(src *fakeSource, r *ring.Ring, perNode int) {
	for p := range uint32(r.Partitions()) {
		for _, n := range r.Primaries(p) {
			st := src.node(n)
			for i := range perNode {
				st.put(p, fmt.Sprintf("%s/p%02d/k%03d", n, p, i), n)
			}
		}
	}
}

// keysOf returns the keys node's store holds of p, as a set.
func keysOf(src *fakeSource, node string, p uint32) map[string]bool {
	out := map[string]bool{}
	for _, k := range src.node(node).keys(p) {
		out[k] = true
	}
	return out
}

func sortedSet(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
