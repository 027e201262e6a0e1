package antientropy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chorusdb/chorus/vclock"
)

var testNodes = []string{"a", "b", "c", "d"}

// randSet returns a non-empty random set: one to three siblings, some of
// them tombstones, written by random nodes.
func randSet(rng *rand.Rand) vclock.Set {
	var s vclock.Set
	for range 1 + rng.IntN(3) {
		v := vclock.Value{Timestamp: rng.Int64()}
		if rng.IntN(5) == 0 {
			v.Tombstone = true
		} else {
			v.Data = fmt.Appendf(nil, "v%d", rng.Uint32())
		}
		// An empty context keeps earlier siblings, so sets grow siblings.
		next, err := s.Update(vclock.Clock{}, testNodes[rng.IntN(len(testNodes))], v)
		if err != nil {
			panic(err) // a few nodes and counters: far from every limit
		}
		s = next
	}
	return s
}

func mustNew(t testing.TB, cfg Config) *Tree {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return tr
}

// buildTree rebuilds a tree from contents with Add, in an order shuffled
// by rng, as a rebuild from a scan would.
func buildTree(t testing.TB, cfg Config, contents map[string]vclock.Set, rng *rand.Rand) *Tree {
	t.Helper()
	tr := mustNew(t, cfg)
	keys := make([]string, 0, len(contents))
	for k := range contents {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, k := range keys {
		tr.Add([]byte(k), contents[k])
	}
	return tr
}

// treeMismatch describes the first difference between two trees of one
// shape, or returns "" if they are equal at every level.
func treeMismatch(a, b *Tree) string {
	if a.Root() != b.Root() {
		return fmt.Sprintf("roots differ: %#x vs %#x", a.Root(), b.Root())
	}
	if !slices.Equal(a.Branches(), b.Branches()) {
		return "branches differ"
	}
	for br := range a.Config().Branches {
		if !slices.Equal(a.Segments(br), b.Segments(br)) {
			return fmt.Sprintf("segments of branch %d differ", br)
		}
	}
	return ""
}

func fetchers(remote *Tree) (func() ([]uint64, error), func(int) ([]uint64, error)) {
	return func() ([]uint64, error) { return remote.Branches(), nil },
		func(br int) ([]uint64, error) { return remote.Segments(br), nil }
}
