package storage

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/chorusdb/chorus/vclock"
)

func TestGetMissing(t *testing.T) {
	db := openMem(t, Options{})
	s, err := db.Get(context.Background(), 1, []byte("nope"))
	if !errors.Is(err, ErrNotFound) || !s.IsEmpty() {
		t.Fatalf("Get(missing) = %v, %v; want empty, ErrNotFound", s, err)
	}
}

func TestUpdateThenGet(t *testing.T) {
	db := openMem(t, Options{})
	ctx := context.Background()
	s1, changed, err := db.Update(ctx, 3, []byte("k"), vclock.Clock{}, "n1", val("a"), true)
	if err != nil || !changed {
		t.Fatalf("Update = %v, %v", changed, err)
	}
	got, err := db.Get(ctx, 3, []byte("k"))
	if err != nil || !got.Equal(s1) {
		t.Fatalf("Get = %v, %v; want %v", got, err, s1)
	}
	// The same key in another partition is another key.
	if _, err := db.Get(ctx, 4, []byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(other partition) err = %v, want ErrNotFound", err)
	}
}

func TestUpdateContextSemantics(t *testing.T) {
	db := openMem(t, Options{})
	a := mustUpdate(t, db, 0, "k", vclock.Clock{}, val("a"))
	// A blind write (no context) does not supersede a: two siblings.
	b := mustUpdate(t, db, 0, "k", vclock.Clock{}, val("b"))
	if want := []string{"a", "b"}; !slices.Equal(dataOf(b), want) {
		t.Fatalf("after blind write: %v, want %v", dataOf(b), want)
	}
	// A write with the context of a only supersedes a.
	c := mustUpdate(t, db, 0, "k", a.Context(), val("c"))
	if want := []string{"b", "c"}; !slices.Equal(dataOf(c), want) {
		t.Fatalf("after write with a's context: %v, want %v", dataOf(c), want)
	}
	// A write with the full context resolves to one value.
	d := mustUpdate(t, db, 0, "k", c.Context(), val("d"))
	if want := []string{"d"}; !slices.Equal(dataOf(d), want) {
		t.Fatalf("after write with full context: %v, want %v", dataOf(d), want)
	}
}

func TestMerge(t *testing.T) {
	db := openMem(t, Options{})
	ctx := context.Background()
	remote := vclock.NewSet("n2", val("r"))

	s, changed, err := db.Merge(ctx, 0, []byte("k"), remote, false)
	if err != nil || !changed || !s.Equal(remote) {
		t.Fatalf("Merge into empty = %v, %v, %v", s, changed, err)
	}
	s2, changed, err := db.Merge(ctx, 0, []byte("k"), remote, false)
	if err != nil || changed || !s2.Equal(s) {
		t.Fatalf("repeated Merge = %v, %v, %v; want unchanged", s2, changed, err)
	}
	// An unchanged merge is a committed request but writes no new value.
	if got, _ := db.Get(ctx, 0, []byte("k")); !got.Equal(remote) {
		t.Fatalf("stored %v, want %v", got, remote)
	}

	local := mustUpdate(t, db, 0, "k", vclock.Clock{}, val("l"))
	if want := []string{"l", "r"}; !slices.Equal(dataOf(local), want) {
		t.Fatalf("concurrent local write: %v, want %v", dataOf(local), want)
	}
	// A remote set that saw both supersedes them.
	newer, err := local.Update(local.Context(), "n2", val("x"))
	if err != nil {
		t.Fatal(err)
	}
	s3, changed, err := db.Merge(ctx, 0, []byte("k"), newer, false)
	if err != nil || !changed || !s3.Equal(newer) {
		t.Fatalf("Merge newer = %v, %v, %v; want %v", s3, changed, err, newer)
	}
	// An empty incoming set on a missing key changes nothing.
	if _, changed, err := db.Merge(ctx, 0, []byte("absent"), vclock.Set{}, false); err != nil || changed {
		t.Fatalf("Merge(empty) = %v, %v", changed, err)
	}
	if _, err := db.Get(ctx, 0, []byte("absent")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty merge created the key: %v", err)
	}
}

func TestValidation(t *testing.T) {
	db := openMem(t, Options{MaxKeyLen: 8, MaxValueLen: 16})
	ctx := context.Background()
	long := []byte("123456789")
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"update empty key", func() error {
			_, _, err := db.Update(ctx, 0, nil, vclock.Clock{}, "n", val("v"), false)
			return err
		}, ErrEmptyKey},
		{"update long key", func() error {
			_, _, err := db.Update(ctx, 0, long, vclock.Clock{}, "n", val("v"), false)
			return err
		}, ErrKeyTooLong},
		{"update big value", func() error {
			_, _, err := db.Update(ctx, 0, []byte("k"), vclock.Clock{}, "n", val(strings.Repeat("x", 17)), false)
			return err
		}, ErrValueTooLarge},
		{"check empty key", func() error { return db.CheckKey(nil) }, ErrEmptyKey},
		{"check long key", func() error { return db.CheckKey(long) }, ErrKeyTooLong},
		{"check key at the limit", func() error { return db.CheckKey(long[:8]) }, nil},
		{"update bad partition", func() error {
			_, _, err := db.Update(ctx, MaxPartitions, []byte("k"), vclock.Clock{}, "n", val("v"), false)
			return err
		}, ErrBadPartition},
		{"merge long key", func() error {
			_, _, err := db.Merge(ctx, 0, long, vclock.NewSet("n", val("v")), false)
			return err
		}, ErrKeyTooLong},
		{"get empty key", func() error { _, err := db.Get(ctx, 0, []byte{}); return err }, ErrEmptyKey},
		{"get bad partition", func() error { _, err := db.Get(ctx, 1<<20, []byte("k")); return err }, ErrBadPartition},
		{"scan bad partition", func() error {
			return db.ScanPartition(ctx, MaxPartitions, func([]byte, vclock.Set) error { return nil })
		}, ErrBadPartition},
		{"hint empty target", func() error { return db.PutHint(ctx, "", []byte("i"), nil, false) }, ErrEmptyKey},
		{"hint long target", func() error {
			return db.PutHint(ctx, strings.Repeat("t", 256), []byte("i"), nil, false)
		}, ErrKeyTooLong},
		{"hint empty id", func() error { return db.PutHint(ctx, "t", nil, nil, false) }, ErrEmptyKey},
		{"hint big payload", func() error { return db.PutHint(ctx, "t", []byte("i"), make([]byte, 17), false) }, ErrValueTooLarge},
		{"meta empty name", func() error { return db.SetMeta(ctx, "", []byte("v")) }, ErrEmptyKey},
		{"meta long name", func() error { _, err := db.GetMeta(string(long)); return err }, ErrKeyTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSiblingLimits(t *testing.T) {
	db := openMem(t, Options{SiblingWarn: 3, SiblingLimit: 5})
	ctx := context.Background()
	var last vclock.Set
	for i := range 5 {
		last = mustUpdate(t, db, 0, "k", vclock.Clock{}, val(string(rune('a'+i))))
	}
	if last.Len() != 5 {
		t.Fatalf("siblings = %d, want 5", last.Len())
	}
	if got := db.Stats().SiblingWarnings; got != 1 {
		t.Errorf("SiblingWarnings = %d, want 1 (only the crossing counts)", got)
	}

	_, _, err := db.Update(ctx, 0, []byte("k"), vclock.Clock{}, "n1", val("f"), false)
	if !errors.Is(err, ErrTooManySiblings) {
		t.Fatalf("6th blind write: err = %v, want ErrTooManySiblings", err)
	}
	for _, want := range []string{"6 siblings", "limit 5", "context"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if got, _ := db.Get(ctx, 0, []byte("k")); !got.Equal(last) {
		t.Fatal("refused update changed the stored set")
	}
	if got := db.Stats().SiblingRefusals; got != 1 {
		t.Errorf("SiblingRefusals = %d, want 1", got)
	}

	// Writing with the read context resolves the siblings.
	resolved := mustUpdate(t, db, 0, "k", last.Context(), val("z"))
	if resolved.Len() != 1 {
		t.Fatalf("resolving write left %d siblings", resolved.Len())
	}

	// Merges past the limit are accepted and counted.
	remote := vclock.Set{}
	for i := range 7 {
		remote = vclock.Sync(remote, vclock.NewSet("r"+string(rune('0'+i)), val("x")))
	}
	s, changed, err := db.Merge(ctx, 0, []byte("k"), remote, false)
	if err != nil || !changed || s.Len() != 8 {
		t.Fatalf("Merge past limit = %d siblings, %v, %v; want 8, true, nil", s.Len(), changed, err)
	}
	if got := db.Stats().MergesOverLimit; got != 1 {
		t.Errorf("MergesOverLimit = %d, want 1", got)
	}
}

func TestDeleteTombstone(t *testing.T) {
	db := openMem(t, Options{})
	ctx := context.Background()
	live := mustUpdate(t, db, 2, "k", vclock.Clock{}, val("a"))
	if ok, err := db.DeleteTombstone(ctx, 2, []byte("k"), live); err != nil || ok {
		t.Fatalf("DeleteTombstone(live set) = %v, %v; want false", ok, err)
	}
	tomb := mustUpdate(t, db, 2, "k", live.Context(), vclock.Value{Tombstone: true})
	if !tomb.Deleted() {
		t.Fatalf("tombstone write did not delete: %v", tomb)
	}
	// A write that lands after the caller read the tombstone wins.
	stale := tomb
	newer := mustUpdate(t, db, 2, "k", tomb.Context(), vclock.Value{Tombstone: true})
	if ok, err := db.DeleteTombstone(ctx, 2, []byte("k"), stale); err != nil || ok {
		t.Fatalf("DeleteTombstone(stale) = %v, %v; want false", ok, err)
	}
	if ok, err := db.DeleteTombstone(ctx, 2, []byte("k"), newer); err != nil || !ok {
		t.Fatalf("DeleteTombstone(current) = %v, %v; want true", ok, err)
	}
	if _, err := db.Get(ctx, 2, []byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after collection: %v, want ErrNotFound", err)
	}
	if ok, err := db.DeleteTombstone(ctx, 2, []byte("k"), newer); err != nil || ok {
		t.Fatalf("DeleteTombstone(missing) = %v, %v; want false", ok, err)
	}
}

func TestUpdateDoesNotAliasCallerKey(t *testing.T) {
	db := openMem(t, Options{})
	ctx := context.Background()
	key := []byte("key")
	if _, _, err := db.Update(ctx, 0, key, vclock.Clock{}, "n1", val("v"), false); err != nil {
		t.Fatal(err)
	}
	copy(key, "xxx")
	if _, err := db.Get(ctx, 0, []byte("key")); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if _, err := db.Get(ctx, 0, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(mutated key) = %v, want ErrNotFound", err)
	}
}

// TestMergeAsyncVisibleBeforeWait: a replica's merge is seen by reads
// once committed, before its sync, and a merge that changes nothing says
// so and has nothing to wait for.
func TestMergeAsyncVisibleBeforeWait(t *testing.T) {
	db, err := Open(t.TempDir(), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	incoming := vclock.NewSet("n2", val("v1"))
	res, changed, wait, err := db.MergeAsync(ctx, 3, []byte("k"), incoming, true)
	if err != nil || !changed || !res.Equal(incoming) {
		t.Fatalf("MergeAsync = %v, %v, %v; want the incoming set, changed", res, changed, err)
	}
	if got, err := db.Get(ctx, 3, []byte("k")); err != nil || !got.Equal(incoming) {
		t.Fatalf("Get before wait = %v, %v; want the merged set", got, err)
	}
	if err := wait(); err != nil {
		t.Fatalf("wait: %v", err)
	}
	_, changed, wait, err = db.MergeAsync(ctx, 3, []byte("k"), incoming, true)
	if err != nil || changed || wait() != nil {
		t.Fatalf("merging the same set again: changed %v, err %v; want unchanged", changed, err)
	}
}

func TestUpdateAsyncVisibleBeforeWait(t *testing.T) {
	db, err := Open(t.TempDir(), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	set, wait, err := db.UpdateAsync(ctx, 3, []byte("k"), vclock.Clock{}, "n1", val("v1"), true)
	if err != nil {
		t.Fatal(err)
	}
	// Committed: later reads and writes see it whether or not the sync is
	// done.
	got, err := db.Get(ctx, 3, []byte("k"))
	if err != nil || !got.Equal(set) {
		t.Fatalf("Get before wait = %v, %v; want the committed set %v", got, err, set)
	}
	if err := wait(); err != nil {
		t.Fatalf("wait: %v", err)
	}
	next, _, err := db.Update(ctx, 3, []byte("k"), set.Context(), "n1", val("v2"), false)
	if err != nil {
		t.Fatal(err)
	}
	if vs := next.Values(); len(vs) != 1 || string(vs[0].Data) != "v2" {
		t.Fatalf("update with the async write's context: %v, want [v2]", vs)
	}
	if _, wait, err := db.UpdateAsync(ctx, 3, []byte("k"), vclock.Clock{}, "n1", val("v3"), false); err != nil || wait() != nil {
		t.Fatalf("non-durable UpdateAsync: err %v", err)
	}
}
