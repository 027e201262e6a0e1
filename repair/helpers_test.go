package repair

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

	"github.com/chorusdb/chorus/chorustest"

	"github.com/chorusdb/chorus/antientropy"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/vclock"
)

// quiet drops log output in tests.
var quiet = slog.New(slog.DiscardHandler)

// notReady maps storage's tree error onto the one repair expects.
func notReady(err error) error {
	if errors.Is(err, storage.ErrTreesNotReady) {
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	return err
}

// dbLocal is Local over a storage.DB, as the server wires it.
type dbLocal struct{ db *storage.DB }

var _ Local = dbLocal{}

func (l dbLocal) TreeRoot(p uint32) (uint64, error) {
	r, err := l.db.TreeRoot(p)
	return r, notReady(err)
}

func (l dbLocal) TreeSnapshot(p uint32) (*antientropy.Tree, error) {
	t, err := l.db.TreeSnapshot(p)
	return t, notReady(err)
}

func (l dbLocal) ScanSegments(ctx context.Context, p uint32, segments []int, fn func(key []byte, s vclock.Set) error) error {
	return l.db.ScanSegments(ctx, p, segments, fn)
}

func (l dbLocal) Merge(ctx context.Context, p uint32, key []byte, s vclock.Set) (bool, error) {
	_, changed, err := l.db.Merge(ctx, p, key, s, false)
	return changed, err
}

// remoteCounts is what a fakeRemote served: round trips per method and
// the items each kind of call moved.
type remoteCounts struct {
	// Round trips, per method.
	Root, Branches, Segments, Keys, Fetch, Push int

	SegmentHashes int // segment hashes returned by Segments
	KeyHashes     int // key hashes returned by Keys
	Fetched       int // keys asked for by Fetch
	Pushed        int // sets sent by Push

	// The largest single call of each kind: branches per Segments call,
	// segments per Keys call, keys per Fetch and per Push.
	MaxBranches, MaxSegments, MaxFetch, MaxPush int
}

// RoundTrips is the total number of calls.
func (c remoteCounts) RoundTrips() int {
	return c.Root + c.Branches + c.Segments + c.Keys + c.Fetch + c.Push
}

// Moved is the number of sets that crossed the wire either way.
func (c remoteCounts) Moved() int { return c.Fetched + c.Pushed }

// fakeRemote is Remote over the peers' DBs, called directly, counting
// every call so tests can check an exchange's cost without trusting
// Result.
type fakeRemote struct {
	peers map[string]*storage.DB

	mu sync.Mutex
	n  remoteCounts
}

var _ Remote = (*fakeRemote)(nil)

func newFakeRemote(peers map[string]*storage.DB) *fakeRemote {
	return &fakeRemote{peers: peers}
}

// counts returns what was served so far.
func (r *fakeRemote) counts() remoteCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// reset zeroes the counters.
func (r *fakeRemote) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n = remoteCounts{}
}

func (r *fakeRemote) count(f func(n *remoteCounts)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.n)
}

func (r *fakeRemote) peer(name string) (*storage.DB, error) {
	db := r.peers[name]
	if db == nil {
		return nil, fmt.Errorf("fakeRemote: unknown peer %q among %v", name, slices.Sorted(maps.Keys(r.peers)))
	}
	return db, nil
}

func (r *fakeRemote) Root(_ context.Context, peer string, p uint32) (uint64, error) {
	r.count(func(n *remoteCounts) { n.Root++ })
	db, err := r.peer(peer)
	if err != nil {
		return 0, err
	}
	root, err := db.TreeRoot(p)
	return root, notReady(err)
}

func (r *fakeRemote) Branches(_ context.Context, peer string, p uint32) ([]uint64, error) {
	r.count(func(n *remoteCounts) { n.Branches++ })
	db, err := r.peer(peer)
	if err != nil {
		return nil, err
	}
	b, err := db.TreeBranches(p)
	return b, notReady(err)
}

func (r *fakeRemote) Segments(_ context.Context, peer string, p uint32, branches []int) ([]uint64, error) {
	db, err := r.peer(peer)
	if err != nil {
		return nil, err
	}
	s, err := db.TreeSegments(p, branches)
	r.count(func(n *remoteCounts) {
		n.Segments++
		n.SegmentHashes += len(s)
		n.MaxBranches = max(n.MaxBranches, len(branches))
	})
	return s, notReady(err)
}

func (r *fakeRemote) Keys(ctx context.Context, peer string, p uint32, segments []int) ([]KeyHash, error) {
	db, err := r.peer(peer)
	if err != nil {
		return nil, err
	}
	var out []KeyHash
	err = db.ScanSegments(ctx, p, segments, func(key []byte, s vclock.Set) error {
		out = append(out, KeyHash{Key: bytes.Clone(key), Hash: antientropy.KeyHash(key, s)})
		return nil
	})
	r.count(func(n *remoteCounts) {
		n.Keys++
		n.KeyHashes += len(out)
		n.MaxSegments = max(n.MaxSegments, len(segments))
	})
	return out, notReady(err)
}

func (r *fakeRemote) Fetch(ctx context.Context, peer string, p uint32, keys [][]byte) ([]vclock.Set, error) {
	r.count(func(n *remoteCounts) {
		n.Fetch++
		n.Fetched += len(keys)
		n.MaxFetch = max(n.MaxFetch, len(keys))
	})
	db, err := r.peer(peer)
	if err != nil {
		return nil, err
	}
	out := make([]vclock.Set, len(keys))
	for i, k := range keys {
		s, err := db.Get(ctx, p, k)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			out[i] = vclock.Set{}
		case err != nil:
			return nil, err
		default:
			out[i] = s
		}
	}
	return out, nil
}

func (r *fakeRemote) Push(ctx context.Context, peer string, p uint32, keys [][]byte, sets []vclock.Set) error {
	r.count(func(n *remoteCounts) {
		n.Push++
		n.Pushed += len(sets)
		n.MaxPush = max(n.MaxPush, len(sets))
	})
	db, err := r.peer(peer)
	if err != nil {
		return err
	}
	if len(keys) != len(sets) {
		return fmt.Errorf("fakeRemote: push of %d keys with %d sets", len(keys), len(sets))
	}
	for i, k := range keys {
		if _, _, err := db.Merge(ctx, p, k, sets[i], false); err != nil {
			return err
		}
	}
	return nil
}

// openDB opens an in-memory DB, closed when the test ends.
func openDB(t testing.TB, opts storage.Options) *storage.DB {
	t.Helper()
	opts.InMemory = true
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	db, err := storage.Open("", opts)
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// openReady opens an in-memory DB and waits for its trees.
func openReady(t testing.TB) *storage.DB {
	t.Helper()
	db := openDB(t, storage.Options{})
	waitReady(t, db)
	return db
}

// waitReady polls until db's trees are Ready, failing after 10 s.
func waitReady(t testing.TB, db *storage.DB) {
	t.Helper()
	chorustest.Eventually(t, "trees ready", func() bool { return db.TreeProgress().Ready })
}

// dump returns every key of partitions [0, parts) of db with its encoded
// set, keyed by partition and key.
func dump(t testing.TB, db *storage.DB, parts int) map[string]string {
	t.Helper()
	out := make(map[string]string)
	for p := range uint32(parts) {
		err := db.ScanPartition(context.Background(), p, func(key []byte, s vclock.Set) error {
			out[fmt.Sprintf("%d/%s", p, key)] = string(s.Encode())
			return nil
		})
		if err != nil {
			t.Fatalf("ScanPartition(%d): %v", p, err)
		}
	}
	return out
}

// diffDumps describes up to a few differences between two dumps, "" if
// they are equal.
func diffDumps(a, b map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if bv, ok := b[k]; !ok {
			out = append(out, fmt.Sprintf("%s only in first", k))
		} else if bv != a[k] {
			out = append(out, fmt.Sprintf("%s differs", k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[k]; !ok {
			out = append(out, fmt.Sprintf("%s only in second", k))
		}
	}
	if len(out) == 0 {
		return ""
	}
	n := len(out)
	return fmt.Sprintf("%d differences, first: %v", n, out[:min(n, 5)])
}

// mustGet returns key's stored set, failing the test on any error but
// ErrNotFound (which gives an empty set).
func mustGet(t testing.TB, db *storage.DB, p uint32, key string) vclock.Set {
	t.Helper()
	s, err := db.Get(context.Background(), p, []byte(key))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(%d, %q): %v", p, key, err)
	}
	return s
}

// mustUpdate is a coordinator write of data by node with context ctx.
func mustUpdate(t testing.TB, db *storage.DB, p uint32, key string, ctx vclock.Clock, node string, v vclock.Value) vclock.Set {
	t.Helper()
	s, _, err := db.Update(context.Background(), p, []byte(key), ctx, node, v, false)
	if err != nil {
		t.Fatalf("Update(%d, %q) on %s: %v", p, key, node, err)
	}
	return s
}

// mustMerge merges s into key's stored set.
func mustMerge(t testing.TB, db *storage.DB, p uint32, key string, s vclock.Set) {
	t.Helper()
	if _, _, err := db.Merge(context.Background(), p, []byte(key), s, false); err != nil {
		t.Fatalf("Merge(%d, %q): %v", p, key, err)
	}
}

func val(s string) vclock.Value { return vclock.Value{Data: []byte(s)} }

var tombstone = vclock.Value{Tombstone: true}

// rootsOf returns db's roots of partitions [0, parts).
func rootsOf(t testing.TB, db *storage.DB, parts int) []uint64 {
	t.Helper()
	out := make([]uint64, parts)
	for p := range out {
		r, err := db.TreeRoot(uint32(p))
		if err != nil {
			t.Fatalf("TreeRoot(%d): %v", p, err)
		}
		out[p] = r
	}
	return out
}
