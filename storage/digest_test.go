package storage

import (
	"context"
	"errors"
	"testing"

	"github.com/chorusdb/chorus/vclock"
)

// TestDigestMatchesStoredSet checks that Digest, computed from the stored
// bytes, is the digest of the set Get returns, through writes and merges,
// and that an absent key digests to 0 (not found).
func TestDigestMatchesStoredSet(t *testing.T) {
	db := openMem(t, Options{})
	ctx := context.Background()
	key := []byte("k")
	if d, found, err := db.Digest(ctx, 2, key); err != nil || found || d != 0 {
		t.Fatalf("Digest(absent) = %x, %v, %v; want 0, false, nil", d, found, err)
	}
	check := func(step string) {
		t.Helper()
		set, err := db.Get(ctx, 2, key)
		if err != nil {
			t.Fatalf("%s: Get: %v", step, err)
		}
		d, found, err := db.Digest(ctx, 2, key)
		if err != nil || !found || d != set.Digest() || d == 0 {
			t.Fatalf("%s: Digest = %x, %v, %v; want %x, true, nil", step, d, found, err, set.Digest())
		}
	}
	first := mustUpdate(t, db, 2, "k", vclock.Clock{}, val("a"))
	check("update")
	// A concurrent write from another coordinator makes two siblings.
	other := vclock.NewSet("n9", val("b"))
	if _, _, err := db.Merge(ctx, 2, key, other, false); err != nil {
		t.Fatal(err)
	}
	check("merge")
	if d, _, _ := db.Digest(ctx, 2, key); d == first.Digest() {
		t.Fatal("digest did not change with the stored set")
	}
	if d, found, err := db.Digest(ctx, 3, key); err != nil || found || d != 0 {
		t.Fatalf("Digest(other partition) = %x, %v, %v; want 0, false, nil", d, found, err)
	}
}

func TestDigestRefusesBadKeyAndClosed(t *testing.T) {
	db := openMem(t, Options{})
	if _, _, err := db.Digest(context.Background(), 0, nil); err == nil {
		t.Error("Digest(empty key) succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := db.Digest(ctx, 0, []byte("k")); !errors.Is(err, context.Canceled) {
		t.Errorf("Digest(cancelled ctx) err = %v, want context.Canceled", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Digest(context.Background(), 0, []byte("k")); !errors.Is(err, ErrClosed) {
		t.Errorf("Digest after Close err = %v, want ErrClosed", err)
	}
}
