package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/vclock"
)

// errNodeDown is what the fake transport returns at once for a down node.
var errNodeDown = errors.New("fake: node down")

// partialErr marks a partial reply, as transport.IncompleteError does: the
// node is still receiving the key's partition.
type partialErr struct{ node string }

func (e partialErr) Error() string { return "fake: " + e.node + " is still receiving the partition" }
func (partialErr) Partial() bool   { return true }

// hintRec is one hint a fake store keeps for a target that was down.
type hintRec struct {
	partition uint32
	key       string
	set       vclock.Set
}

// fakeStore is one node's map-based storage and hint queue; it implements
// Store.
type fakeStore struct {
	node  string
	mu    sync.Mutex
	data  map[string]vclock.Set
	hints map[string][]hintRec // by target
	calls atomic.Int64         // every Store method call
	// partial makes Get answer its set with a partialErr.
	partial atomic.Bool
}

func newFakeStore(node string) *fakeStore {
	return &fakeStore{node: node, data: make(map[string]vclock.Set), hints: make(map[string][]hintRec)}
}

func (s *fakeStore) Get(ctx context.Context, partition uint32, key []byte) (vclock.Set, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partial.Load() {
		return s.data[string(key)], partialErr{s.node}
	}
	return s.data[string(key)], nil
}

func (s *fakeStore) Update(ctx context.Context, partition uint32, key []byte, clientCtx vclock.Clock, node string, v vclock.Value, durable bool) (vclock.Set, func() error, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	set, err := s.data[string(key)].Update(clientCtx, node, v)
	if err != nil {
		return vclock.Set{}, nil, err
	}
	s.data[string(key)] = set
	return set, func() error { return nil }, nil
}

func (s *fakeStore) Merge(ctx context.Context, partition uint32, key []byte, set vclock.Set, durable bool) error {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[string(key)] = vclock.Sync(s.data[string(key)], set)
	return nil
}

func (s *fakeStore) Hint(ctx context.Context, target string, partition uint32, key []byte, set vclock.Set, durable bool) error {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hints[target] = append(s.hints[target], hintRec{partition: partition, key: string(key), set: set})
	return nil
}

// get returns the stored set of key.
func (s *fakeStore) get(key string) vclock.Set {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data[key]
}

// put overwrites the stored set of key, for tests that stage replicas.
func (s *fakeStore) put(key string, set vclock.Set) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[key] = set
}

// hintsFor returns the hints kept for target.
func (s *fakeStore) hintsFor(target string) []hintRec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hints[target])
}

// hintCount returns the number of hints kept, for every target.
func (s *fakeStore) hintCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.hints {
		n += len(h)
	}
	return n
}

// fault is how the fake transport mistreats calls to one node.
type fault struct {
	// down fails every call at once.
	down bool
	// blackhole blocks every call until its context ends.
	blackhole bool
	// delay holds every call this long (or until its context ends).
	delay time.Duration
	// replicateGate, when not nil, blocks Replicate (not Fetch) until it
	// is closed or the context ends; fetchGate does the same to Fetch.
	replicateGate chan struct{}
	fetchGate     chan struct{}
}

// fakeTransport routes calls to the target node's fakeStore.
type fakeTransport struct {
	stores map[string]*fakeStore

	mu     sync.Mutex
	faults map[string]fault

	replicates sync.Map // node -> *atomic.Int64
	fetches    sync.Map // node -> *atomic.Int64
	digests    sync.Map // node -> *atomic.Int64
	gateWaits  atomic.Int64
	inFlight   atomic.Int64
}

func counter(m *sync.Map, node string) *atomic.Int64 {
	v, _ := m.LoadOrStore(node, new(atomic.Int64))
	return v.(*atomic.Int64)
}

func (tr *fakeTransport) setFault(node string, f fault) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.faults[node] = f
}

func (tr *fakeTransport) fault(node string) fault {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.faults[node]
}

// replicateCalls and fetchCalls count the calls made to node.
func (tr *fakeTransport) replicateCalls(node string) int64 {
	return counter(&tr.replicates, node).Load()
}
func (tr *fakeTransport) fetchCalls(node string) int64 { return counter(&tr.fetches, node).Load() }

// digestCalls counts the FetchDigest calls made to node.
func (tr *fakeTransport) digestCalls(node string) int64 { return counter(&tr.digests, node).Load() }

// suffer applies node's fault to a call; it returns the error the call
// must fail with, if any.
func (tr *fakeTransport) suffer(ctx context.Context, node string, replicate bool) error {
	f := tr.fault(node)
	switch {
	case f.down:
		return errNodeDown
	case f.blackhole:
		<-ctx.Done()
		return ctx.Err()
	}
	if f.delay > 0 {
		t := time.NewTimer(f.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	gate := f.fetchGate
	if replicate {
		gate = f.replicateGate
	}
	if gate != nil {
		tr.gateWaits.Add(1)
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return ctx.Err()
}

func (tr *fakeTransport) Replicate(ctx context.Context, node string, partition uint32, key []byte, set vclock.Set, durable bool, hintFor string) error {
	tr.inFlight.Add(1)
	defer tr.inFlight.Add(-1)
	counter(&tr.replicates, node).Add(1)
	s, ok := tr.stores[node]
	if !ok {
		return fmt.Errorf("fake: unknown node %q", node)
	}
	if err := tr.suffer(ctx, node, true); err != nil {
		return err
	}
	if err := s.Merge(ctx, partition, key, set, durable); err != nil {
		return err
	}
	if hintFor != "" {
		return s.Hint(ctx, hintFor, partition, key, set, durable)
	}
	return nil
}

func (tr *fakeTransport) Fetch(ctx context.Context, node string, partition uint32, key []byte) (vclock.Set, error) {
	tr.inFlight.Add(1)
	defer tr.inFlight.Add(-1)
	counter(&tr.fetches, node).Add(1)
	s, ok := tr.stores[node]
	if !ok {
		return vclock.Set{}, fmt.Errorf("fake: unknown node %q", node)
	}
	if err := tr.suffer(ctx, node, false); err != nil {
		return vclock.Set{}, err
	}
	return s.Get(ctx, partition, key)
}

// FetchDigest makes fakeTransport a DigestFetcher; faults apply to it as
// to Fetch (fetchGate included).
func (tr *fakeTransport) FetchDigest(ctx context.Context, node string, partition uint32, key []byte) (uint64, error) {
	tr.inFlight.Add(1)
	defer tr.inFlight.Add(-1)
	counter(&tr.digests, node).Add(1)
	s, ok := tr.stores[node]
	if !ok {
		return 0, fmt.Errorf("fake: unknown node %q", node)
	}
	if err := tr.suffer(ctx, node, false); err != nil {
		return 0, err
	}
	set, err := s.Get(ctx, partition, key)
	return set.Digest(), err
}

// fullOnly hides fakeTransport's FetchDigest: a Transport without the
// capability, whose reads fetch every set.
type fullOnly struct{ tr *fakeTransport }

func (f fullOnly) Replicate(ctx context.Context, node string, partition uint32, key []byte, set vclock.Set, durable bool, hintFor string) error {
	return f.tr.Replicate(ctx, node, partition, key, set, durable, hintFor)
}

func (f fullOnly) Fetch(ctx context.Context, node string, partition uint32, key []byte) (vclock.Set, error) {
	return f.tr.Fetch(ctx, node, partition, key)
}

// fakeLiveness is a failure detector that believes what it is told.
type fakeLiveness struct {
	mu   sync.Mutex
	dead map[string]bool
}

func (l *fakeLiveness) Alive(node string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.dead[node]
}

func (l *fakeLiveness) setDead(node string, dead bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dead[node] = dead
}

// t0 is the start of the fake clocks.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// cluster is a fake cluster: a ring of n1..nK, a store per node, one
// transport, one liveness view and one fake clock shared by every
// coordinator. The clock moves only when a test advances it, so a
// coordinator's fallback timer never fires on its own: a slow machine
// cannot make a healthy replica look silent.
type cluster struct {
	t      *testing.T
	ring   *ring.Ring
	ids    []string
	stores map[string]*fakeStore
	tr     *fakeTransport
	live   *fakeLiveness
	clk    *clock.Fake
}

func newCluster(t *testing.T, members int) *cluster {
	t.Helper()
	c := &cluster{t: t, stores: make(map[string]*fakeStore),
		live: &fakeLiveness{dead: make(map[string]bool)}, clk: clock.NewFake(t0)}
	var recs []ring.Member
	for i := 1; i <= members; i++ {
		id := fmt.Sprintf("n%d", i)
		c.ids = append(c.ids, id)
		c.stores[id] = newFakeStore(id)
		recs = append(recs, ring.Member{ID: id})
	}
	r, err := ring.New(recs, ring.Config{Partitions: 16, Replicas: 3})
	if err != nil {
		t.Fatalf("ring.New(%d members): %v", members, err)
	}
	c.ring = r
	c.tr = &fakeTransport{stores: c.stores, faults: make(map[string]fault)}
	return c
}

// pref returns key's full preference list: primaries first, then
// fallbacks.
func (c *cluster) pref(key string) []string {
	return slices.Clone(c.ring.PreferenceList([]byte(key), c.ring.Size()))
}

// coordinator starts a coordinator on node self; edit adjusts its config.
// It is closed when the test ends.
func (c *cluster) coordinator(self string, edit func(*Config)) *Coordinator {
	c.t.Helper()
	cfg := DefaultConfig()
	cfg.Self = self
	cfg.Store = c.stores[self]
	cfg.Transport = c.tr
	cfg.Liveness = c.live
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Clock = c.clk
	if edit != nil {
		edit(&cfg)
	}
	co, err := NewCoordinator(cfg)
	if err != nil {
		c.t.Fatalf("NewCoordinator(%s): %v", self, err)
	}
	co.SetRing(c.ring)
	c.t.Cleanup(func() {
		if err := co.Close(); err != nil {
			c.t.Errorf("Close(%s): %v", self, err)
		}
	})
	return co
}

// stepFallback waits until a request of co waits on its fallback timer
// and has received want replies, then moves the clock past after: the
// replicas that have not answered by then are silent, whatever the load
// on the machine.
func (c *cluster) stepFallback(co *Coordinator, want uint64, after time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chorustest.Timeout)
	defer cancel()
	if err := c.clk.BlockUntil(ctx, 1); err != nil {
		c.t.Fatalf("no request waits on its fallback timer: %v", err)
	}
	chorustest.Eventually(c.t, fmt.Sprintf("%d replies received", want), func() bool {
		return co.Stats().Replies >= want
	})
	c.clk.Advance(after)
}

// within runs f on a goroutine and fails the test, from the test's own
// goroutine, if f has not returned after d: a request that hangs must not
// hang the test run.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("still running after %v: the request hangs", d)
	}
}

// dataOf returns the live values of s as strings, in dot order.
func dataOf(s vclock.Set) []string {
	var out []string
	for _, v := range s.Values() {
		out = append(out, string(v.Data))
	}
	return out
}
