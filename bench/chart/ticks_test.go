package chart

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// labels joins the labels of the major ticks.
func labels(ticks []Tick) string {
	var ls []string
	for _, t := range ticks {
		if t.Label != "" {
			ls = append(ls, t.Label)
		}
	}
	return strings.Join(ls, " ")
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		ticks  Log
		want   string
	}{
		{1, 1000, Log{Every: 1}, "1 10 100 1000"},
		{1, 1000, Log{OneTwoFive: true}, "1 2 5 10 20 50 100 200 500 1000"},
		{0.01, 1, Log{Every: 1}, "0.01 0.1 1"},
		{1, 1e20, Log{Every: 3}, "1 1000 1e+06 1e+09 1e+12 1e+15 1e+18"},
		{0, 10, Log{Every: 1}, ""}, // invalid bounds give no ticks, not a panic
		{10, 1, Log{Every: 1}, ""},
		{-5, -1, Log{OneTwoFive: true}, ""},
		{1, math.Inf(1), Log{}, ""},
		{math.NaN(), 10, Log{}, ""},
	}
	for _, tt := range tests {
		if got := labels(tt.ticks.Ticks(tt.lo, tt.hi)); got != tt.want {
			t.Errorf("%+v ticks [%g, %g] = %q, want %q", tt.ticks, tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestLogFor(t *testing.T) {
	tests := []struct {
		lo, hi float64
		max    int
		want   Log
	}{
		{1, 100, 10, Log{Every: 1, OneTwoFive: true}}, // 7 labels fit
		{1, 1e4, 10, Log{Every: 1}},                   // 13 with 2s and 5s; 5 without
		{1, 1e12, 5, Log{Every: 3}},                   // 13, 7, 5
		{1, 1e300, 1, Log{Every: 301}},
	}
	for _, tt := range tests {
		got := LogFor(tt.lo, tt.hi, tt.max)
		if got != tt.want {
			t.Errorf("LogFor(%g, %g, %d) = %+v, want %+v", tt.lo, tt.hi, tt.max, got, tt.want)
		}
		if n := labelCount(got.Ticks(tt.lo, tt.hi)); n > max(tt.max, 1) {
			t.Errorf("LogFor(%g, %g, %d) labels %d ticks", tt.lo, tt.hi, tt.max, n)
		}
	}
}

func TestPercentileTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		ticks  Percentile
		want   string
	}{
		{1, 1e4, Percentile{}, "0% 90% 99% 99.9% 99.99%"},
		{1, 1e6, Percentile{Every: 2}, "0% 99% 99.99% 99.9999%"},
		{1, 1, Percentile{}, ""},
		{0, 100, Percentile{}, ""},
	}
	for _, tt := range tests {
		if got := labels(tt.ticks.Ticks(tt.lo, tt.hi)); got != tt.want {
			t.Errorf("%+v ticks [%g, %g] = %q, want %q", tt.ticks, tt.lo, tt.hi, got, tt.want)
		}
	}
	if got := PercentileFor(1, 1e8, 5); got.Every != 2 {
		t.Errorf("PercentileFor(1, 1e8, 5) = %+v, want every 2nd decade (9 labels do not fit in 5)", got)
	}
}

func TestPercentileAxis(t *testing.T) {
	for _, tt := range []struct{ q, wantMax float64 }{
		{0, 100}, {0.5, 100}, {0.99, 100}, {0.999, 1000}, {0.9995, 1e4}, {0.9999, 1e4},
	} {
		if got := PercentileMax(PercentileX(tt.q)); math.Abs(got-tt.wantMax) > 1e-9*tt.wantMax {
			t.Errorf("PercentileMax(PercentileX(%v)) = %g, want %g", tt.q, got, tt.wantMax)
		}
	}
}

// TestTicksAscending checks the documented order on many ranges.
func TestTicksAscending(t *testing.T) {
	for _, r := range [][2]float64{{1e-5, 3}, {0.7, 0.9}, {1, 1e299}, {2, 2.5}} {
		for _, ts := range [][]Tick{Log{OneTwoFive: true}.Ticks(r[0], r[1]), Log{Every: 4}.Ticks(r[0], r[1]),
			Percentile{}.Ticks(r[0], r[1])} {
			if !slices.IsSortedFunc(ts, func(a, b Tick) int { return int(math.Copysign(1, a.Value-b.Value)) }) {
				t.Errorf("ticks of [%g, %g] not ascending: %v", r[0], r[1], ts)
			}
		}
	}
}
