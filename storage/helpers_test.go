package storage

import (
	"context"
	"log/slog"
	"testing"

	"github.com/chorusdb/chorus/vclock"
)

// quiet is a logger that drops everything, for tests that expect warnings.
var quiet = slog.New(slog.DiscardHandler)

// openMem opens an in-memory DB, closed when the test ends.
func openMem(t testing.TB, opts Options) *DB {
	t.Helper()
	opts.InMemory = true
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	db, err := Open("", opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func val(s string) vclock.Value { return vclock.Value{Data: []byte(s)} }

// dataOf returns the live values of s as strings, in dot order.
func dataOf(s vclock.Set) []string {
	var out []string
	for _, v := range s.Values() {
		out = append(out, string(v.Data))
	}
	return out
}

// mustUpdate writes v to key and fails the test on error.
func mustUpdate(t testing.TB, db *DB, p uint32, key string, ctx vclock.Clock, v vclock.Value) vclock.Set {
	t.Helper()
	s, _, err := db.Update(context.Background(), p, []byte(key), ctx, "n1", v, false)
	if err != nil {
		t.Fatalf("Update(%q): %v", key, err)
	}
	return s
}
