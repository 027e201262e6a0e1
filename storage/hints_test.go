package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/chorusdb/chorus/vclock"
)

func TestHints(t *testing.T) {
	db := openMem(t, Options{})
	ctx := context.Background()
	put := func(target, id, payload string) {
		t.Helper()
		if err := db.PutHint(ctx, target, []byte(id), []byte(payload), true); err != nil {
			t.Fatalf("PutHint: %v", err)
		}
	}
	put("b", "2", "p2")
	put("b", "1", "p1")
	put("ab", "9", "other target")
	put("b", "3", "p3")

	scan := func(target string) []string {
		t.Helper()
		var got []string
		err := db.ScanHints(ctx, target, func(id, payload []byte) error {
			got = append(got, fmt.Sprintf("%s=%s", id, payload))
			return nil
		})
		if err != nil {
			t.Fatalf("ScanHints: %v", err)
		}
		return got
	}
	if got, want := scan("b"), []string{"1=p1", "2=p2", "3=p3"}; !slices.Equal(got, want) {
		t.Fatalf("hints of b = %v, want %v", got, want)
	}
	if got := scan("a"); len(got) != 0 {
		t.Fatalf(`hints of "a" = %v, want none`, got)
	}

	// Delivery loop: delete while scanning.
	err := db.ScanHints(ctx, "b", func(id, _ []byte) error { return db.DeleteHint(ctx, "b", id) })
	if err != nil {
		t.Fatal(err)
	}
	if got := scan("b"); len(got) != 0 {
		t.Fatalf("hints of b after delete = %v", got)
	}
	if err := db.DeleteHint(ctx, "b", []byte("missing")); err != nil {
		t.Fatalf("DeleteHint(missing) = %v", err)
	}
	if got := scan("ab"); !slices.Equal(got, []string{"9=other target"}) {
		t.Fatalf("hints of ab = %v", got)
	}
}

func TestMeta(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetMeta("node-id"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetMeta(missing) = %v, want ErrNotFound", err)
	}
	ctx := context.Background()
	for _, v := range []string{"n1", "n1-renamed"} {
		if err := db.SetMeta(ctx, "node-id", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetMeta(ctx, "empty", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.GetMeta("node-id"); err != nil || string(got) != "n1-renamed" {
		t.Fatalf("GetMeta after reopen = %q, %v", got, err)
	}
	if got, err := db.GetMeta("empty"); err != nil || len(got) != 0 {
		t.Fatalf("GetMeta(empty) = %q, %v; want empty value, no error", got, err)
	}
}

func TestScanAllHints(t *testing.T) {
	db := openMem(t, Options{})
	ctx := context.Background()
	for _, h := range [][3]string{{"b", "2", "p2"}, {"ab", "9", "x"}, {"b", "1", "p1"}, {"a", "5", "y"}} {
		if err := db.PutHint(ctx, h[0], []byte(h[1]), []byte(h[2]), false); err != nil {
			t.Fatalf("PutHint: %v", err)
		}
	}
	// A data key and a meta entry must not show up.
	mustUpdate(t, db, 1, "k", vclock.Clock{}, val("v"))
	if err := db.SetMeta(ctx, "m", []byte("x")); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := db.ScanAllHints(ctx, func(target string, id, payload []byte) error {
		got = append(got, fmt.Sprintf("%s/%s=%s", target, id, payload))
		return db.DeleteHint(ctx, target, id)
	})
	if err != nil {
		t.Fatalf("ScanAllHints: %v", err)
	}
	if want := []string{"a/5=y", "b/1=p1", "b/2=p2", "ab/9=x"}; !slices.Equal(got, want) {
		t.Fatalf("ScanAllHints = %v, want %v", got, want)
	}
	n := 0
	if err := db.ScanAllHints(ctx, func(string, []byte, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d hints left after deleting all", n)
	}
	if err := db.PutHint(ctx, "c", []byte("1"), nil, false); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	if err := db.ScanAllHints(ctx, func(string, []byte, []byte) error { return stop }); err != stop {
		t.Fatalf("ScanAllHints with failing fn = %v, want %v", err, stop)
	}
}
