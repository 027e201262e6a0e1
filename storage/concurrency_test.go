package storage

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/chorusdb/chorus/vclock"
)

// ackedWrite is one write the DB acknowledged: the dot it created and the
// context it was written with (what it claims to supersede).
type ackedWrite struct {
	key  string
	dot  vclock.Dot
	ctx  vclock.Clock
	data string
}

// TestConcurrentWritersLoseNothing runs 64 goroutines × 50 read-then-write
// rounds against 4 keys, mixing coordinator updates with merges of sets
// coordinated "elsewhere", and checks that every acknowledged write is in
// the final set or superseded by an acknowledged write whose context saw it.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	const goroutines, rounds, keys = 64, 50, 4
	db := openMem(t, Options{SiblingLimit: 1000, SiblingWarn: 1000})

	var mu sync.Mutex
	var acked []ackedWrite
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			key := fmt.Sprintf("key-%d", g%keys)
			for i := range rounds {
				w, err := readThenWrite(db, key, g, i)
				if err != nil {
					t.Errorf("goroutine %d round %d: %v", g, i, err)
					return
				}
				mu.Lock()
				acked = append(acked, w)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for k := range keys {
		key := fmt.Sprintf("key-%d", k)
		final, err := db.Get(context.Background(), 0, []byte(key))
		if err != nil {
			t.Fatalf("Get(%s): %v", key, err)
		}
		checkNoLostWrites(t, key, final, acked)
	}
}

// readThenWrite reads key and writes a unique value with the read's
// context: a coordinator Update on node n1 in most rounds, and in every
// fifth a merge of a set that node r<g> coordinated from the same read.
func readThenWrite(db *DB, key string, g, i int) (ackedWrite, error) {
	ctx := context.Background()
	cur, err := db.Get(ctx, 0, []byte(key))
	if err != nil && err != ErrNotFound {
		return ackedWrite{}, err
	}
	data := fmt.Sprintf("g%d-r%d", g, i)
	var res vclock.Set
	if i%5 == 4 {
		var remote vclock.Set
		if remote, err = cur.Update(cur.Context(), fmt.Sprintf("r%d", g), val(data)); err != nil {
			return ackedWrite{}, err
		}
		res, _, err = db.Merge(ctx, 0, []byte(key), remote, false)
	} else {
		res, _, err = db.Update(ctx, 0, []byte(key), cur.Context(), "n1", val(data), false)
	}
	if err != nil {
		return ackedWrite{}, err
	}
	for _, s := range res.Siblings() {
		if string(s.Data) == data {
			return ackedWrite{key: key, dot: s.Dot, ctx: cur.Context(), data: data}, nil
		}
	}
	return ackedWrite{}, fmt.Errorf("write %s missing from the set it returned", data)
}

// checkNoLostWrites checks the final set of key against the acknowledged
// writes: each is present with its data, or superseded by an acknowledged
// write that saw it. It also checks that coordinator dots (node n1) form
// exactly 1..n: each Update read the latest state, none was lost or doubled.
func checkNoLostWrites(t *testing.T, key string, final vclock.Set, acked []ackedWrite) {
	t.Helper()
	present := map[vclock.Dot][]byte{}
	for _, s := range final.Siblings() {
		present[s.Dot] = s.Data
	}
	var n1 []uint64
	for _, w := range acked {
		if w.key != key {
			continue
		}
		if w.dot.Node == "n1" {
			n1 = append(n1, w.dot.Counter)
		}
		if !final.Context().Covers(w.dot) {
			t.Errorf("%s: final clock %v does not cover acked dot %v", key, final.Context().Format(), w.dot)
		}
		if d, ok := present[w.dot]; ok {
			if !bytes.Equal(d, []byte(w.data)) {
				t.Errorf("%s: dot %v holds %q, want %q", key, w.dot, d, w.data)
			}
			continue
		}
		if !supersededByAcked(w, acked) {
			t.Errorf("%s: acked write %v (%s) lost: absent and no acked write saw it", key, w.dot, w.data)
		}
	}
	slices.Sort(n1)
	for i, c := range n1 {
		if c != uint64(i+1) {
			t.Fatalf("%s: n1 counters %v are not 1..%d", key, n1, len(n1))
		}
	}
}

func supersededByAcked(w ackedWrite, acked []ackedWrite) bool {
	for _, o := range acked {
		if o.key == w.key && o.dot != w.dot && o.ctx.Covers(w.dot) {
			return true
		}
	}
	return false
}
