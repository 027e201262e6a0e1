package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/chorusdb/chorus/vclock"
)

// A store records its layout when created, opens again under the same
// build, and is refused (not misread) when its layout differs or was never
// recorded while it holds data.
func TestLayoutChecked(t *testing.T) {
	for _, tt := range []struct {
		name   string
		tamper func(t *testing.T, db *DB)
		ok     bool
	}{
		{"same layout", func(*testing.T, *DB) {}, true},
		{"other layout", func(t *testing.T, db *DB) {
			if err := db.SetMeta(context.Background(), metaLayout, binary.BigEndian.AppendUint64(nil, 1)); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"no layout recorded, data present", func(t *testing.T, db *DB) {
			_, err := db.queue(context.Background(), metaKey(metaLayout), true, false, func([]byte, bool) (mutation, error) {
				return mutation{op: opDelete}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := db.Update(context.Background(), 1, []byte("k"), vclock.Clock{}, "n", val("v"), true); err != nil {
				t.Fatal(err)
			}
			tt.tamper(t, db)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db, err = Open(dir, Options{})
			if tt.ok {
				if err != nil {
					t.Fatalf("reopen: %v", err)
				}
				_ = db.Close()
				return
			}
			if !errors.Is(err, ErrLayout) {
				if err == nil {
					_ = db.Close()
				}
				t.Fatalf("reopen = %v, want ErrLayout", err)
			}
		})
	}
}
