package chart

import (
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// span accumulates the extent of the values drawn on one axis.
type span struct {
	lo, hi float64
	n      int
}

// add extends s to cover v.
func (s *span) add(v float64) {
	if s.n == 0 || v < s.lo {
		s.lo = v
	}
	if s.n == 0 || v > s.hi {
		s.hi = v
	}
	s.n++
}

// bounds returns the extent of s, or def if s is empty.
func (s span) bounds(defLo, defHi float64) (lo, hi float64) {
	if s.n == 0 {
		return defLo, defHi
	}
	return s.lo, s.hi
}

// fixed holds the optional fixed ends of an axis; nil ends fit the data.
type fixed struct{ lo, hi *float64 }

// apply returns the range [lo, hi] of the data with the fixed ends
// substituted, keeping lo <= hi.
func (f fixed) apply(lo, hi float64) (float64, float64) {
	if f.lo != nil {
		lo, hi = *f.lo, math.Max(hi, *f.lo)
	}
	if f.hi != nil {
		lo, hi = math.Min(lo, *f.hi), *f.hi
	}
	return lo, hi
}

// room is the length along an axis that its tick labels share (zero
// for unconstrained) and whether they sit side by side (an x axis, where
// their widths count) or stacked (a y axis, where their heights do).
// Axis setters use it to thin labels instead of letting them overlap.
type room struct {
	length vg.Length
	across bool
}

// fits reports whether the labelled ticks of a, at its current range and
// marker, leave at least half an em between neighbours. Ticks must come
// in ascending order of value, as this package's tickers produce them.
func (r room) fits(a *plot.Axis) bool {
	if r.length <= 0 || !(a.Max > a.Min) {
		return true
	}
	sty := a.Tick.Label
	minGap := sty.Font.Size / 2
	var prevPos, prevHalf vg.Length
	first := true
	for _, t := range a.Tick.Marker.Ticks(a.Min, a.Max) {
		if t.Label == "" || t.Value < a.Min || t.Value > a.Max {
			continue
		}
		pos := vg.Length(a.Norm(t.Value)) * r.length
		half := sty.Height(t.Label) / 2
		if r.across {
			half = sty.Width(t.Label) / 2
		}
		if !first && pos-prevPos < prevHalf+half+minGap {
			return false
		}
		prevPos, prevHalf, first = pos, half, false
	}
	return true
}

// Log axes are clamped to [10^minExp, 10^maxExp]: math.Pow10 underflows
// to zero below 1e-323, and zero is not a valid log-axis bound.
const (
	minExp = -300
	maxExp = 300
)

// setLinear sets a linear range on a from s and the fixed ends (already
// validated: finite, lo < hi when both are set). Free ends are rounded
// out to the tick step, so both ends carry a label. The step is the
// finest of about 6, 5, 4, 3 or 2 intervals whose labels fit in r.
func setLinear(a *plot.Axis, s span, fix fixed, r room) {
	lo, hi := fix.apply(s.bounds(0, 1))
	lo, hi = widen(lo, hi, fix.lo == nil, fix.hi == nil)
	a.Scale = plot.LinearScale{}
	for want := wantTicks; want >= 2; want-- {
		step := niceStep(hi-lo, want)
		a.Min, a.Max = lo, hi
		if fix.lo == nil {
			a.Min = math.Floor(lo/step+stepSlack) * step
		}
		if fix.hi == nil {
			a.Max = math.Ceil(hi/step-stepSlack) * step
		}
		a.Tick.Marker = linearTicks{step: step}
		if r.fits(a) {
			return
		}
	}
}

// widen turns a degenerate range (empty, or too narrow for float64 tick
// arithmetic) into a usable one, moving only the ends it may move.
func widen(lo, hi float64, moveLo, moveHi bool) (float64, float64) {
	mag := math.Max(math.Abs(lo), math.Abs(hi))
	if hi-lo > mag*1e-12 {
		return lo, hi
	}
	d := mag / 2
	if d == 0 {
		d = 1
	}
	switch {
	case moveLo && moveHi:
		return lo - d, hi + d
	case moveHi:
		return lo, hi + 2*d
	case moveLo:
		return lo - 2*d, hi
	}
	return lo, hi
}

// setLog sets a log range on a from s (which must hold only positive
// values) and the fixed ends (validated positive). Free ends are rounded
// out to 1, 2 or 5 times a power of ten. Labels go at 1, 2 and 5 times
// each power of ten if they fit in r, else at every power of ten, else at
// every k-th.
func setLog(a *plot.Axis, s span, fix fixed, r room) {
	lo, hi := fix.apply(s.bounds(1, 10))
	if fix.lo == nil {
		lo = niceBelow(lo)
	}
	if fix.hi == nil {
		hi = niceAbove(hi)
	}
	if hi <= lo {
		if fix.hi == nil {
			hi = lo * 10
		} else {
			lo = hi / 10
		}
	}
	a.Min, a.Max = lo, hi
	a.Scale = plot.LogScale{}
	a.Tick.Marker = logTicks{every: 1, oneTwoFive: true}
	for every := 1; !r.fits(a) && every <= maxExp-minExp; every++ {
		a.Tick.Marker = logTicks{every: every}
	}
}

// setPercentile makes a a log axis of 1/(1-q) from "0%" (x = 1) to the
// first whole number of nines at or beyond the data, at least minNines.
// Every decade is labelled if the labels fit in r, else every k-th.
func setPercentile(a *plot.Axis, xs span, r room) {
	_, hi := xs.bounds(1, 1)
	a.Min, a.Max = 1, math.Max(math.Pow10(minNines), decadeAbove(hi))
	a.Scale = plot.LogScale{}
	a.Tick.Marker = percentileTicks{every: 1}
	for every := 2; !r.fits(a) && every <= maxExp; every++ {
		a.Tick.Marker = percentileTicks{every: every}
	}
}

// niceSteps are the mantissas that log axis ends are rounded to.
var niceSteps = []float64{1, 2, 5, 10}

// niceBelow returns the largest 1, 2 or 5 times a power of ten that is
// <= v, and at least 10^minExp.
func niceBelow(v float64) float64 {
	d := decadeBelow(v)
	best := d
	for _, m := range niceSteps {
		if m*d <= v {
			best = m * d
		}
	}
	return best
}

// niceAbove returns the smallest 1, 2 or 5 times a power of ten that is
// >= v, and at most 10^maxExp.
func niceAbove(v float64) float64 {
	d := decadeBelow(v)
	for _, m := range niceSteps {
		if m*d >= v {
			return math.Min(m*d, math.Pow10(maxExp))
		}
	}
	return decadeAbove(v)
}

// decadeBelow returns the largest power of ten <= v, clamped to 10^minExp.
func decadeBelow(v float64) float64 {
	e := clampExp(math.Floor(math.Log10(v)))
	d := math.Pow10(e)
	if d > v && e > minExp {
		d = math.Pow10(e - 1) // Log10 rounded up across a decade.
	}
	return d
}

// decadeAbove returns the smallest power of ten >= v, clamped to 10^maxExp.
func decadeAbove(v float64) float64 {
	e := clampExp(math.Ceil(math.Log10(v)))
	d := math.Pow10(e)
	if d < v && e < maxExp {
		d = math.Pow10(e + 1) // Log10 rounded down across a decade.
	}
	return d
}

// clampExp converts a decimal exponent to int within [minExp, maxExp].
func clampExp(e float64) int {
	if math.IsNaN(e) || e < minExp {
		return minExp
	}
	if e > maxExp {
		return maxExp
	}
	return int(e)
}
