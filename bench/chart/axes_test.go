package chart

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

func TestPercentileLabel(t *testing.T) {
	tests := []struct {
		e    int
		want string
	}{
		{-1, "0%"}, {0, "0%"}, {1, "90%"}, {2, "99%"}, {3, "99.9%"}, {4, "99.99%"}, {6, "99.9999%"},
	}
	for _, tt := range tests {
		if got := percentileLabel(tt.e); got != tt.want {
			t.Errorf("percentileLabel(%d) = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestNiceStep(t *testing.T) {
	tests := []struct{ width, want float64 }{
		{60, 10}, {27, 5}, {1, 0.2}, {126000, 25000}, {0.6, 0.1}, {4.5, 1},
	}
	for _, tt := range tests {
		if got := niceStep(tt.width, wantTicks); math.Abs(got-tt.want) > 1e-12*tt.want {
			t.Errorf("niceStep(%g) = %g, want %g", tt.width, got, tt.want)
		}
	}
}

func TestLinearTickLabels(t *testing.T) {
	tests := []struct {
		lo, hi, step float64
		want         string
	}{
		{0, 60, 10, "0 10 20 30 40 50 60"},
		{0, 1, 0.25, "0.00 0.25 0.50 0.75 1.00"},
		{0.1, 0.3, 0.1, "0.1 0.2 0.3"},
		{0, 150000, 25000, "0 25000 50000 75000 100000 125000 150000"},
		{-2, 2, 2, "-2 0 2"},
		{0, 3e7, 1e7, "0 1e+07 2e+07 3e+07"},
		{1e-7, 3e-7, 1e-7, "1e-07 2e-07 3e-07"},
	}
	for _, tt := range tests {
		got := labels(linearTicks{step: tt.step}.Ticks(tt.lo, tt.hi))
		if got != tt.want {
			t.Errorf("ticks [%g, %g] step %g = %q, want %q", tt.lo, tt.hi, tt.step, got, tt.want)
		}
	}
}

func TestLogTickLabels(t *testing.T) {
	tests := []struct {
		lo, hi float64
		ticks  logTicks
		want   string
	}{
		{1, 1000, logTicks{every: 1}, "1 10 100 1000"},
		{1, 1000, logTicks{every: 1, oneTwoFive: true}, "1 2 5 10 20 50 100 200 500 1000"},
		{0.01, 1, logTicks{every: 1}, "0.01 0.1 1"},
		{1, 1e20, logTicks{every: 3}, "1 1000 1e+06 1e+09 1e+12 1e+15 1e+18"},
		{0, 10, logTicks{every: 1}, ""}, // invalid bounds give no ticks, not a panic
		{10, 1, logTicks{every: 1}, ""},
	}
	for _, tt := range tests {
		if got := labels(tt.ticks.Ticks(tt.lo, tt.hi)); got != tt.want {
			t.Errorf("%+v ticks [%g, %g] = %q, want %q", tt.ticks, tt.lo, tt.hi, got, tt.want)
		}
	}
}

// labels joins the labels of the major ticks.
func labels(ticks []plot.Tick) string {
	var ls []string
	for _, t := range ticks {
		if t.Label != "" {
			ls = append(ls, t.Label)
		}
	}
	return strings.Join(ls, " ")
}

func TestWiden(t *testing.T) {
	tests := []struct {
		lo, hi       float64
		moveLo, move bool
		wantLo       float64
		wantHi       float64
	}{
		{0, 0, true, true, -1, 1},
		{4, 4, true, true, 2, 6},
		{4, 4, false, true, 4, 8},
		{4, 4, true, false, 0, 4},
		{1, 2, true, true, 1, 2},
	}
	for _, tt := range tests {
		lo, hi := widen(tt.lo, tt.hi, tt.moveLo, tt.move)
		if lo != tt.wantLo || hi != tt.wantHi {
			t.Errorf("widen(%g, %g, %v, %v) = %g, %g; want %g, %g", tt.lo, tt.hi, tt.moveLo, tt.move, lo, hi, tt.wantLo, tt.wantHi)
		}
	}
}

func TestSetLog(t *testing.T) {
	tests := []struct {
		vals         []float64
		fixLo, fixHi *float64
		wantLo       float64
		wantHi       float64
	}{
		{nil, nil, nil, 1, 10},
		{[]float64{3, 70}, nil, nil, 2, 100},
		{[]float64{1, 1024}, nil, nil, 1, 2000},
		{[]float64{1000}, nil, nil, 1000, 10000},
		{[]float64{3, 70}, ptr(2.5), nil, 2.5, 100},
		{[]float64{3, 70}, nil, ptr(50), 2, 50},
		{[]float64{3, 70}, nil, ptr(0.5), 0.05, 0.5},
	}
	for _, tt := range tests {
		var s span
		for _, v := range tt.vals {
			s.add(v)
		}
		var a plot.Axis
		setLog(&a, s, fixed{lo: tt.fixLo, hi: tt.fixHi}, room{})
		if a.Min != tt.wantLo || a.Max != tt.wantHi {
			t.Errorf("setLog(%v) = [%g, %g], want [%g, %g]", tt.vals, a.Min, a.Max, tt.wantLo, tt.wantHi)
		}
	}
}
