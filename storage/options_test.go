package storage

import (
	"errors"
	"testing"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"defaults", DefaultOptions(), true},
		{"negative key len", Options{MaxKeyLen: -1}, false},
		{"key len over engine limit", Options{MaxKeyLen: 65000}, false},
		{"negative value len", Options{MaxValueLen: -5}, false},
		{"huge value len", Options{MaxValueLen: 1 << 30}, false},
		{"limit below warn", Options{SiblingWarn: 50, SiblingLimit: 10}, false},
		{"warn equals limit", Options{SiblingWarn: 10, SiblingLimit: 10}, true},
		{"negative warn", Options{SiblingWarn: -1}, false},
		{"batch too big", Options{MaxBatch: 100000}, false},
		{"small memtable", Options{MemTableSize: 1 << 20}, false},
		{"one compactor", Options{Compactors: 1}, false},
		{"four compactors", Options{Compactors: 4}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrBadOptions) {
				t.Fatalf("Validate() = %v, want ErrBadOptions", err)
			}
		})
	}
}

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	if o.MaxKeyLen != 1024 || o.MaxValueLen != 1<<20 || o.SiblingWarn != 25 ||
		o.SiblingLimit != 100 || o.MaxBatch != 256 || o.Compactors != 2 || o.Logger == nil {
		t.Fatalf("DefaultOptions() = %+v", o)
	}
}

func TestOpenRejectsDirMismatch(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{InMemory: true}); !errors.Is(err, ErrBadOptions) {
		t.Errorf("InMemory with dir: err = %v, want ErrBadOptions", err)
	}
	if _, err := Open("", Options{}); !errors.Is(err, ErrBadOptions) {
		t.Errorf("on-disk without dir: err = %v, want ErrBadOptions", err)
	}
}

// TestBadgerOptionsCompactors checks that Compactors reaches the engine.
func TestBadgerOptionsCompactors(t *testing.T) {
	if got := DefaultOptions().badgerOptions(t.TempDir()).NumCompactors; got != 2 {
		t.Errorf("engine compactors = %d by default, want 2", got)
	}
	o := Options{Compactors: 3}.withDefaults()
	if got := o.badgerOptions(t.TempDir()).NumCompactors; got != 3 {
		t.Errorf("engine compactors = %d with Compactors 3, want 3", got)
	}
}
