package vclock

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func clk(pairs ...any) Clock {
	var es []Entry
	for i := 0; i < len(pairs); i += 2 {
		es = append(es, Entry{Node: pairs[i].(string), Counter: uint64(pairs[i+1].(int))})
	}
	return NewClock(es...)
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name string
		a, b Clock
		want Order
	}{
		{"both empty", clk(), clk(), Equal},
		{"empty before one", clk(), clk("a", 1), Before},
		{"one after empty", clk("a", 1), clk(), After},
		{"equal", clk("a", 2, "b", 1), clk("b", 1, "a", 2), Equal},
		{"dominated", clk("a", 1, "b", 1), clk("a", 2, "b", 1), Before},
		{"dominates with extra node", clk("a", 2, "c", 1), clk("a", 2), After},
		{"concurrent counters", clk("a", 2, "b", 1), clk("a", 1, "b", 2), Concurrent},
		{"concurrent disjoint nodes", clk("a", 1), clk("b", 1), Concurrent},
		{"concurrent extra on each side", clk("a", 1, "c", 1), clk("a", 1, "b", 1), Concurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Compare(tt.a, tt.b); got != tt.want {
				t.Fatalf("Compare(%s, %s) = %v, want %v", tt.a.Format(), tt.b.Format(), got, tt.want)
			}
			if got, want := Compare(tt.b, tt.a), mirror(tt.want); got != want {
				t.Fatalf("Compare(%s, %s) = %v, want %v", tt.b.Format(), tt.a.Format(), got, want)
			}
		})
	}
}

func mirror(o Order) Order {
	switch o {
	case Before:
		return After
	case After:
		return Before
	}
	return o
}

func TestNewClockNormalises(t *testing.T) {
	c := NewClock(Entry{"b", 1}, Entry{"a", 0}, Entry{"b", 3}, Entry{"c", 2})
	if got, want := c.Format(), "{b:3 c:2}"; got != want {
		t.Fatalf("NewClock = %s, want %s", got, want)
	}
}

func TestMergeIsPointwiseMax(t *testing.T) {
	got := clk("a", 1, "b", 5).Merge(clk("b", 2, "c", 7))
	if want := "{a:1 b:5 c:7}"; got.Format() != want {
		t.Fatalf("Merge = %s, want %s", got.Format(), want)
	}
	if !got.Covers(Dot{"c", 7}) || got.Covers(Dot{"c", 8}) || got.Covers(Dot{"d", 1}) {
		t.Fatalf("Covers wrong for %s", got.Format())
	}
}

func TestContextRoundTrip(t *testing.T) {
	for _, c := range []Clock{clk(), clk("a", 1), clk("node-1", 1<<40, "node-2", 3, "z", 127)} {
		s := c.String()
		got, err := ParseContext(s)
		if err != nil {
			t.Fatalf("ParseContext(%q): %v", s, err)
		}
		if Compare(got, c) != Equal {
			t.Fatalf("round trip of %s gave %s", c.Format(), got.Format())
		}
		if strings.ContainsAny(s, "+/=\n ") {
			t.Fatalf("context %q is not header-safe", s)
		}
	}
}

func TestParseContextRejects(t *testing.T) {
	valid := clk("a", 1).String()
	for _, in := range []string{
		"!!!",
		valid + "=",
		valid[:len(valid)-1] + "\n" + valid[len(valid)-1:],
		"AQ",                                // version byte only
		"AgA",                               // unknown version 2
		"AQA",                               // empty clock: has the canonical spelling ""
		clk("b", 1, "a", 1).String() + "AA", // trailing bytes
	} {
		if _, err := ParseContext(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseContext(%q) error = %v, want ErrMalformed", in, err)
		}
	}
}

// TestParseContextBounds checks the limits on contexts, which are client
// input: well-formed contexts beyond them are refused, and contexts at
// them are accepted.
func TestParseContextBounds(t *testing.T) {
	nodes := func(n, idLen int) Clock {
		var es []Entry
		for i := range n {
			id := fmt.Sprintf("%0*d", idLen, i)
			es = append(es, Entry{Node: id, Counter: 1})
		}
		return NewClock(es...)
	}
	tests := []struct {
		name     string
		ctx      Clock
		ok       bool
		tooLarge bool
	}{
		{"counter at the limit", clk2("a", MaxCounter), true, false},
		{"counter above the limit", clk2("a", MaxCounter+1), false, false},
		{"counter at the uint64 limit", clk2("a", math.MaxUint64), false, false},
		{"node ID at the limit", nodes(1, MaxNodeIDLen), true, false},
		{"node ID above the limit", nodes(1, MaxNodeIDLen+1), false, false},
		{"nodes at the limit", nodes(MaxContextNodes, 5), true, false},
		{"nodes above the limit", nodes(MaxContextNodes+1, 5), false, true},
		{"text above the limit", nodes(60, MaxNodeIDLen), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseContext(tt.ctx.String())
			if tt.ok {
				if err != nil || Compare(got, tt.ctx) != Equal {
					t.Fatalf("ParseContext: %s, %v; want %s", got.Format(), err, tt.ctx.Format())
				}
				return
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if tt.tooLarge != errors.Is(err, ErrContextTooLarge) {
				t.Fatalf("err = %v; ErrContextTooLarge %v, want %v", err, errors.Is(err, ErrContextTooLarge), tt.tooLarge)
			}
		})
	}
}
