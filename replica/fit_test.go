package replica

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

func TestFit(t *testing.T) {
	def := func(n, r, w int) Options {
		return Options{N: n, R: r, W: w, Timeout: time.Second, Defaulted: AllDefaulted}
	}
	type nrw struct{ n, r, w, pr, pw int }
	tests := []struct {
		name string
		o    Options
		size int
		want nrw
	}{
		{"defaults on one node", def(3, 2, 2), 1, nrw{1, 1, 1, 0, 0}},
		{"defaults on two nodes", def(3, 2, 2), 2, nrw{2, 2, 2, 0, 0}},
		{"defaults on three nodes", def(3, 2, 2), 3, nrw{3, 2, 2, 0, 0}},
		{"defaults on many nodes", def(3, 2, 2), 9, nrw{3, 2, 2, 0, 0}},
		{"n5 r3 w3 on four nodes", def(5, 3, 3), 4, nrw{4, 3, 3, 0, 0}},
		{"n5 r3 w3 on two nodes", def(5, 3, 3), 2, nrw{2, 2, 2, 0, 0}},
		{"ring size unknown", def(3, 2, 2), 0, nrw{3, 2, 2, 0, 0}},
		{"primaries capped with R and W", func() Options {
			o := def(3, 3, 3)
			o.PR, o.PW = 3, 2
			return o
		}(), 2, nrw{2, 2, 2, 2, 2}},
		{"explicit n kept", func() Options {
			o := def(3, 2, 2)
			o.Defaulted.N = false
			return o
		}(), 1, nrw{3, 2, 2, 0, 0}},
		{"explicit lower n lowers defaulted r and w", func() Options {
			o := def(1, 2, 2)
			o.Defaulted.N = false
			return o
		}(), 5, nrw{1, 1, 1, 0, 0}},
		{"explicit r kept", func() Options {
			o := def(3, 3, 2)
			o.Defaulted.R = false
			return o
		}(), 2, nrw{2, 3, 2, 0, 0}},
		{"nothing defaulted", Options{N: 3, R: 2, W: 2, Timeout: time.Second}, 1, nrw{3, 2, 2, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.o.Fit(tt.size)
			if g := (nrw{got.N, got.R, got.W, got.PR, got.PW}); g != tt.want {
				t.Errorf("Fit(%d) = %+v, want %+v", tt.size, g, tt.want)
			}
			if got.Timeout != tt.o.Timeout || got.Defaulted != tt.o.Defaulted {
				t.Errorf("Fit changed more than the counts: %+v", got)
			}
		})
	}
}

// TestFitKeepsMajorities checks, for every defaulted N, R, W and ring
// size, that fitting keeps valid options valid and keeps a strict quorum
// (R + W > N) strict: a small cluster loses no read-your-writes guarantee
// the defaults gave.
func TestFitKeepsMajorities(t *testing.T) {
	for n := 1; n <= 7; n++ {
		for r := 1; r <= n; r++ {
			for w := 1; w <= n; w++ {
				o := Options{N: n, R: r, W: w, Timeout: time.Second, Defaulted: AllDefaulted}
				for size := 1; size <= 8; size++ {
					f := o.Fit(size)
					if err := f.Validate(size); err != nil {
						t.Fatalf("n=%d r=%d w=%d on %d nodes: Fit gave %d/%d/%d: %v", n, r, w, size, f.N, f.R, f.W, err)
					}
					if o.Strict() && !f.Strict() {
						t.Fatalf("n=%d r=%d w=%d on %d nodes: Fit gave %d/%d/%d, no longer strict", n, r, w, size, f.N, f.R, f.W)
					}
				}
			}
		}
	}
}

// TestSmallRingServesDefaults: a coordinator on a 1-node and a 2-node ring
// serves requests that keep the defaults, reports the options it used, and
// still refuses an explicit n or r the ring cannot give, saying why.
func TestSmallRingServesDefaults(t *testing.T) {
	defaults := DefaultOptions()
	defaults.Defaulted = AllDefaulted
	for size, want := range map[int]int{1: 1, 2: 2} {
		c := newCluster(t, size)
		co := c.coordinator("n1", nil)
		put, err := co.Put(bg, []byte("k"), []byte("v"), vclock.Clock{}, defaults)
		if err != nil {
			t.Fatalf("%d nodes: Put with defaults: %v", size, err)
		}
		get, err := co.Get(bg, []byte("k"), defaults)
		if err != nil {
			t.Fatalf("%d nodes: Get with defaults: %v", size, err)
		}
		for op, res := range map[string]Result{"put": put, "get": get} {
			if o := res.Options; o.N != want || o.R != min(2, want) || o.W != min(2, want) {
				t.Errorf("%d nodes: %s ran with n=%d r=%d w=%d, want n=%d r=w=%d", size, op, o.N, o.R, o.W, want, min(2, want))
			}
			if len(res.Replicas) != min(2, want) {
				t.Errorf("%d nodes: %s counted replicas %v", size, op, res.Replicas)
			}
		}
		explicitN := defaults
		explicitN.Defaulted.N = false
		_, err = co.Put(bg, []byte("k"), []byte("v"), vclock.Clock{}, explicitN)
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), "n=3 exceeds") {
			t.Errorf("%d nodes: explicit n=3: err %v, want ErrInvalidOptions naming n=3", size, err)
		}
		explicitR := defaults
		explicitR.R, explicitR.Defaulted.R = 3, false
		_, err = co.Get(bg, []byte("k"), explicitR)
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), "the default n=3 capped at the") {
			t.Errorf("%d nodes: explicit r=3: err %v, want ErrInvalidOptions explaining the capped n", size, err)
		}
	}
}
