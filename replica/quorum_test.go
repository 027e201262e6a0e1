package replica

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/ring"
)

// TestTally runs reply scripts against tallies. Script words: "ok" or
// "fail" followed by ":p" (primary) or ":f" (fallback); "+f" / "+p" add a
// replica. want lists the outcome after each word.
func TestTally(t *testing.T) {
	tests := []struct {
		name                          string
		need, needP, primaries, falls int
		script                        string
		want                          string
	}{
		{"w2 n3 two acks", 2, 0, 3, 0, "ok:p ok:p", "pending met"},
		{"w2 n3 ack fail ack", 2, 0, 3, 0, "ok:p fail:p ok:p", "pending pending met"},
		{"w2 n3 two failures decide early", 2, 0, 3, 0, "fail:p fail:p", "pending failed"},
		{"w3 n3 one failure decides", 3, 0, 3, 0, "ok:p fail:p", "pending failed"},
		{"w1 first ack", 1, 0, 3, 0, "ok:p", "met"},
		{"sloppy: fallback replaces a failed primary", 2, 0, 3, 0, "ok:p +f fail:p fail:p ok:f", "pending pending pending pending met"},
		{"pw2: fallback ack does not count as primary", 2, 2, 2, 1, "ok:p ok:f", "pending pending"},
		{"pw2: primary failure with only fallbacks left", 2, 2, 2, 1, "ok:p ok:f fail:p", "pending pending failed"},
		{"pw2 met by primaries", 2, 2, 2, 1, "ok:f ok:p ok:p", "pending pending met"},
		{"pw0 sloppy met by fallbacks", 2, 0, 1, 2, "fail:p ok:f ok:f", "pending pending met"},
		{"r3 all needed, late failure", 3, 0, 3, 0, "ok:p ok:p fail:p", "pending pending failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := NewTally(tt.need, tt.needP, tt.primaries, tt.falls)
			var got []string
			for _, word := range strings.Fields(tt.script) {
				switch word {
				case "+f", "+p":
					tl.AddReplica(word == "+p")
					got = append(got, tl.Outcome().String())
				case "ok:p", "ok:f":
					got = append(got, tl.Succeed(word == "ok:p").String())
				case "fail:p", "fail:f":
					got = append(got, tl.Fail(word == "fail:p", errors.New("down")).String())
				default:
					t.Fatalf("bad script word %q", word)
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Fatalf("script %q: outcomes %q, want %q", tt.script, g, tt.want)
			}
		})
	}
}

// TestTallyDecidesExactlyWhenForced checks against a brute-force model over
// random reply orders: Met exactly when the successes so far satisfy the
// quorum, Failed exactly when even all outstanding replies succeeding could
// not.
func TestTallyDecidesExactlyWhenForced(t *testing.T) {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	for i := range 5000 {
		prim, fall := 1+rng.Intn(5), rng.Intn(3)
		need := 1 + rng.Intn(prim+fall)
		needP := rng.Intn(min(need, prim) + 1)
		tl := NewTally(need, needP, prim, fall)
		kinds := make([]bool, 0, prim+fall) // true = primary
		for j := range prim + fall {
			kinds = append(kinds, j < prim)
		}
		rng.Shuffle(len(kinds), func(a, b int) { kinds[a], kinds[b] = kinds[b], kinds[a] })
		ok, okP, leftP, leftF := 0, 0, prim, fall
		for _, primary := range kinds {
			success := rng.Intn(2) == 0
			var got Outcome
			if success {
				got = tl.Succeed(primary)
				ok++
				if primary {
					okP++
				}
			} else {
				got = tl.Fail(primary, nil)
			}
			if primary {
				leftP--
			} else {
				leftF--
			}
			want := Pending
			if ok >= need && okP >= needP {
				want = Met
			} else if ok+leftP+leftF < need || okP+leftP < needP {
				want = Failed
			}
			if got != want {
				t.Fatalf("seed %d case %d: need %d/%d primaries of %d+%d: got %v, want %v",
					seed, i, need, needP, prim, fall, got, want)
			}
			if got != Pending {
				break
			}
		}
	}
}

func TestQuorumErrorNamesCountsAndUnwraps(t *testing.T) {
	tl := NewTally(2, 0, 3, 0)
	tl.Succeed(true)
	tl.Fail(true, fmt.Errorf("node b: %w", context.DeadlineExceeded))
	tl.Fail(true, errors.New("node c: refused"))
	err := error(tl.Err("write"))
	if want := "replica: write quorum not met: 1 of 2 replicas answered"; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %q does not start with %q", err, want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("errors.Is(%v, DeadlineExceeded) = false", err)
	}
	var qe *QuorumError
	if !errors.As(err, &qe) || qe.Got != 1 || qe.Need != 2 {
		t.Fatalf("errors.As gave %+v", qe)
	}
}

func TestOptionsValidate(t *testing.T) {
	mod := func(f func(*Options)) Options { o := DefaultOptions(); f(&o); return o }
	tests := []struct {
		name    string
		opts    Options
		cluster int
		wantErr string
	}{
		{"defaults", DefaultOptions(), 3, ""},
		{"defaults, cluster unknown", DefaultOptions(), 0, ""},
		{"n above cluster", DefaultOptions(), 2, "n=3 exceeds the 2 nodes"},
		{"r above n", mod(func(o *Options) { o.R = 4 }), 5, "r=4 must be between 1 and n=3"},
		{"w zero", mod(func(o *Options) { o.W = 0 }), 5, "w=0 must be between 1 and n=3"},
		{"pw above w", mod(func(o *Options) { o.PW = 3 }), 5, "pw=3 must be between 0 and w=2"},
		{"pr above r", mod(func(o *Options) { o.PR = 3 }), 5, "pr=3 must be between 0 and r=2"},
		{"n zero", mod(func(o *Options) { o.N = 0 }), 5, "n=0 must be at least 1"},
		{"no timeout", mod(func(o *Options) { o.Timeout = 0 }), 5, "timeout=0s must be positive"},
		{"n5 r3 w3", mod(func(o *Options) { o.N, o.R, o.W = 5, 3, 3 }), 5, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate(tt.cluster)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if !DefaultOptions().Strict() || mod(func(o *Options) { o.R, o.W = 1, 1 }).Strict() {
		t.Fatal("Strict wrong")
	}
}

// TestNAboveTheReplicationFactor: with 5 nodes and 3 replicas per
// partition, n=4 and n=5 are refused naming both numbers (they used to
// write to 4 or 5 nodes, the extra ones fallbacks that nothing keeps in
// sync); n at or below the replication factor is accepted.
func TestNAboveTheReplicationFactor(t *testing.T) {
	var members []ring.Member
	for i := range 5 {
		members = append(members, ring.Member{ID: fmt.Sprint("n", i)})
	}
	r, err := ring.New(members, ring.Config{Partitions: 16, Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 6; n++ {
		o := Options{N: n, R: 1, W: 1, Timeout: time.Second}
		err := o.ValidateFor(r)
		if n <= 3 {
			if err != nil {
				t.Errorf("n=%d: %v", n, err)
			}
			continue
		}
		want := fmt.Sprintf("n=%d exceeds the cluster's replication factor 3", n)
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), want) {
			t.Errorf("n=%d: err = %v, want one containing %q", n, err, want)
		}
	}
}
