package replica

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
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

// oracle decides a quorum by brute force, sharing no arithmetic with
// Tally: it keeps the replies still outstanding as a list and asks whether
// any subset of them succeeding would meet the quorum.
type oracle struct {
	need, needPrimary int
	ok, okPrimary     int
	outstanding       []bool // true = primary
}

func (o *oracle) met(ok, okPrimary int) bool { return ok >= o.need && okPrimary >= o.needPrimary }

func (o *oracle) outcome() Outcome {
	if o.met(o.ok, o.okPrimary) {
		return Met
	}
	n := len(o.outstanding)
	for subset := range 1 << n {
		ok, okPrimary := o.ok, o.okPrimary
		for i, primary := range o.outstanding {
			if subset&(1<<i) == 0 {
				continue
			}
			ok++
			if primary {
				okPrimary++
			}
		}
		if o.met(ok, okPrimary) {
			return Pending
		}
	}
	return Failed
}

// take removes one outstanding reply of the kind.
func (o *oracle) take(primary bool) {
	i := slices.Index(o.outstanding, primary)
	o.outstanding = slices.Delete(slices.Clone(o.outstanding), i, i+1)
}

// event is one step fed to a tally and its oracle.
type event struct {
	kind    string // "ok", "fail" or "add"
	primary bool
}

func (e event) String() string {
	k := "f"
	if e.primary {
		k = "p"
	}
	return e.kind + ":" + k
}

// apply feeds e to tl and o and returns the tally's answer.
func apply(tl *Tally, o *oracle, e event) Outcome {
	switch e.kind {
	case "add":
		tl.AddReplica(e.primary)
		o.outstanding = append(slices.Clone(o.outstanding), e.primary)
		return tl.Outcome()
	case "ok":
		o.take(e.primary)
		o.ok++
		if e.primary {
			o.okPrimary++
		}
		return tl.Succeed(e.primary)
	default:
		o.take(e.primary)
		return tl.Fail(e.primary, nil)
	}
}

// choices lists the events possible in state o: a reply of each kind still
// outstanding, succeeding or failing, and up to maxAdds added fallbacks
// (a fallback replacing a silent replica).
func choices(o *oracle, adds, maxAdds int) []event {
	var out []event
	for _, primary := range []bool{true, false} {
		if slices.Contains(o.outstanding, primary) {
			out = append(out, event{"ok", primary}, event{"fail", primary})
		}
	}
	if adds < maxAdds {
		out = append(out, event{"add", false})
	}
	return out
}

// TestTallyAgainstBruteForce checks Tally against the oracle on every
// reply order of every small request (up to 3 primaries, 2 fallbacks and
// one fallback added on the way): after each reply the tally must say Met
// exactly when the replies so far meet the quorum, Failed exactly when no
// outcome of the outstanding ones could, and Pending otherwise.
func TestTallyAgainstBruteForce(t *testing.T) {
	cases := 0
	var walk func(tl *Tally, o *oracle, history []event, adds int)
	walk = func(tl *Tally, o *oracle, history []event, adds int) {
		for _, e := range choices(o, adds, 1) {
			tl, o := cloneTally(tl), &oracle{o.need, o.needPrimary, o.ok, o.okPrimary, o.outstanding}
			got, want := apply(tl, o, e), o.outcome()
			h := append(slices.Clone(history), e)
			cases++
			if got != want {
				t.Fatalf("need %d (%d primaries), replies %v: tally says %v, brute force %v",
					o.need, o.needPrimary, h, got, want)
			}
			if got == Pending {
				added := adds
				if e.kind == "add" {
					added++
				}
				walk(tl, o, h, added)
			}
		}
	}
	for prim := 1; prim <= 3; prim++ {
		for fall := 0; fall <= 2; fall++ {
			for need := 1; need <= prim+fall+1; need++ {
				for needP := 0; needP <= min(need, prim)+1; needP++ {
					o := &oracle{need: need, needPrimary: needP}
					for i := range prim + fall {
						o.outstanding = append(o.outstanding, i < prim)
					}
					tl := NewTally(need, needP, prim, fall)
					if got, want := tl.Outcome(), o.outcome(); got != want {
						t.Fatalf("need %d (%d primaries) of %d+%d, no replies: tally says %v, brute force %v",
							need, needP, prim, fall, got, want)
					}
					walk(tl, o, nil, 0)
				}
			}
		}
	}
	t.Logf("%d replies checked", cases)
}

// TestTallyAgainstBruteForceRandom checks larger requests on random reply
// orders. The seed is fixed, and named in any failure, so a failure
// replays as it is.
func TestTallyAgainstBruteForceRandom(t *testing.T) {
	const seed = 20260101
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range 3000 {
		prim, fall := 1+rng.IntN(7), rng.IntN(4)
		need := 1 + rng.IntN(prim+fall+1)
		needP := rng.IntN(min(need, prim) + 2)
		o := &oracle{need: need, needPrimary: needP}
		for j := range prim + fall {
			o.outstanding = append(o.outstanding, j < prim)
		}
		tl := NewTally(need, needP, prim, fall)
		var history []event
		adds := 0
		for tl.Outcome() == Pending {
			cs := choices(o, adds, 3)
			e := cs[rng.IntN(len(cs))]
			if e.kind == "add" {
				adds++
			}
			history = append(history, e)
			if got, want := apply(tl, o, e), o.outcome(); got != want {
				t.Fatalf("seed %d case %d: need %d (%d primaries) of %d+%d, replies %v: tally says %v, brute force %v",
					seed, i, need, needP, prim, fall, history, got, want)
			}
		}
	}
}

// cloneTally copies a tally, so that the walk can branch.
func cloneTally(tl *Tally) *Tally {
	c := *tl
	c.errs = slices.Clone(tl.errs)
	return &c
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
