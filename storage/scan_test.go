package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/chorusdb/chorus/antientropy"
	"github.com/chorusdb/chorus/vclock"
)

// collect scans partition p from start and returns the keys seen.
func collect(t *testing.T, db *DB, p uint32, after []byte) []string {
	t.Helper()
	var keys []string
	err := db.ScanPartitionAfter(context.Background(), p, after, func(k []byte, s vclock.Set) error {
		if got := dataOf(s); len(got) != 1 || got[0] != "v-"+string(k) {
			t.Errorf("key %q has values %v", k, got)
		}
		keys = append(keys, string(k))
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return keys
}

func TestScanPartition(t *testing.T) {
	db := openMem(t, Options{})
	db.scanChunk = 3 // exercise chunk boundaries
	var want []string
	for _, p := range []uint32{1, 2, 3, 256} {
		for i := range 10 {
			k := fmt.Sprintf("k%02d", i)
			mustUpdate(t, db, p, k, vclock.Clock{}, val("v-"+k))
			if p == 2 {
				want = append(want, k)
			}
		}
	}
	// Other keyspaces must not show up in a partition scan.
	if err := db.SetMeta(context.Background(), "x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	// Scan order is by slot, then key.
	slices.SortFunc(want, func(a, b string) int {
		return cmp.Or(cmp.Compare(antientropy.Slot([]byte(a)), antientropy.Slot([]byte(b))), cmp.Compare(a, b))
	})
	if got := collect(t, db, 2, nil); !slices.Equal(got, want) {
		t.Fatalf("partition 2 = %v, want %v", got, want)
	}
	for i, k := range want {
		if got := collect(t, db, 2, []byte(k)); !slices.Equal(got, want[i+1:]) {
			t.Fatalf("resume after %s = %v, want %v", k, got, want[i+1:])
		}
	}
	if got := collect(t, db, 0, nil); len(got) != 0 {
		t.Fatalf("empty partition = %v", got)
	}
}

func TestScanStopsOnErrorAndCancel(t *testing.T) {
	db := openMem(t, Options{})
	for i := range 5 {
		k := fmt.Sprintf("k%d", i)
		mustUpdate(t, db, 7, k, vclock.Clock{}, val("v-"+k))
	}
	stop := errors.New("stop")
	n := 0
	err := db.ScanPartition(context.Background(), 7, func([]byte, vclock.Set) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("scan = %v after %d keys, want the callback's error after 2", err, n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	err = db.ScanPartition(ctx, 7, func([]byte, vclock.Set) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("cancelled scan = %v after %d keys", err, n)
	}
}

// A scan callback may write, including to the key it was given: handoff
// and anti-entropy repair do exactly that.
func TestScanCallbackMayWrite(t *testing.T) {
	db := openMem(t, Options{})
	db.scanChunk = 2
	for i := range 5 {
		k := fmt.Sprintf("k%d", i)
		mustUpdate(t, db, 1, k, vclock.Clock{}, val("v-"+k))
	}
	var seen []string
	err := db.ScanPartition(context.Background(), 1, func(k []byte, s vclock.Set) error {
		seen = append(seen, string(k))
		_, _, err := db.Update(context.Background(), 1, k, s.Context(), "n1", val("v-"+string(k)), false)
		return err
	})
	if err != nil || len(seen) != 5 {
		t.Fatalf("scan = %v, saw %v", err, seen)
	}
}
