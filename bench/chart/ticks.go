package chart

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// Tickers for the axes. gonum's DefaultTicks aims for only 3 labels and
// its LogTicks panics on a non-positive range; these aim for more labels,
// never panic, and produce ticks in ascending order (room.fits needs it).

// wantTicks is the number of intervals between labelled ticks that a
// linear axis aims for when there is room.
const wantTicks = 6

// stepSlack absorbs float error in lo/step, so that 0.3/0.1 =
// 2.9999999999999996 still counts as a whole number of steps.
const stepSlack = 1e-9

// maxTicks bounds the labelled ticks of a linear axis, in case a range
// was set that the step was not computed for.
const maxTicks = 50

// niceStep returns a step of 1, 2, 2.5 or 5 times a power of ten that
// divides width into about want intervals.
func niceStep(width float64, want int) float64 {
	raw := width / float64(want)
	mag := math.Pow10(clampExp(math.Floor(math.Log10(raw))))
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// linearTicks marks a linear axis with labelled ticks at multiples of
// step and unlabelled minor ticks between them. The step is chosen once,
// by setLinear, so that the rounded axis ends fall on labelled ticks.
type linearTicks struct{ step float64 }

// Ticks implements plot.Ticker.
func (t linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	step := t.step
	if !(step > 0) || (hi-lo)/step > maxTicks {
		step = niceStep(hi-lo, wantTicks)
	}
	k0, k1 := math.Ceil(lo/step-stepSlack), math.Floor(hi/step+stepSlack)
	format := tickFormat(lo, hi, step)
	var ticks []plot.Tick
	for i := 0.0; i <= k1-k0 && i <= maxTicks; i++ {
		v := (k0 + i) * step
		ticks = append(ticks, plot.Tick{Value: v, Label: format(v)})
	}
	minor := step / minorDivisions(step)
	m0 := math.Ceil(lo / minor)
	for i := 0.0; i <= (hi-lo)/minor && i <= maxTicks*5; i++ {
		ticks = append(ticks, plot.Tick{Value: (m0 + i) * minor})
	}
	return ticks
}

// minorDivisions is how many minor intervals split one step: fifths of
// 1, 2.5 and 5, quarters (0.5) of 2.
func minorDivisions(step float64) float64 {
	m := step / math.Pow10(clampExp(math.Floor(math.Log10(step))))
	if math.Abs(m-2) < 1e-9 {
		return 4
	}
	return 5
}

// tickFormat returns a formatter for tick values of an axis from lo to
// hi with the given step: fixed-point with just enough decimals for the
// step, or exponent notation for very large or small magnitudes.
// Formatting to a set precision also hides float noise in k*step.
func tickFormat(lo, hi, step float64) func(float64) string {
	mag := math.Max(math.Abs(lo), math.Abs(hi))
	stepExp := clampExp(math.Floor(math.Log10(step)))
	frac := 0
	if m := step / math.Pow10(stepExp); m != math.Trunc(m) {
		frac = 1 // 2.5 × 10^e has a digit at 10^(e-1)
	}
	decimals := max(0, frac-stepExp)
	if mag >= 1e7 || decimals > 5 {
		digits := clampExp(math.Floor(math.Log10(mag))) - stepExp + 1 + frac
		return func(v float64) string { return strconv.FormatFloat(v, 'g', max(1, digits), 64) }
	}
	return func(v float64) string {
		if v == 0 {
			v = 0 // no "-0"
		}
		return strconv.FormatFloat(v, 'f', decimals, 64)
	}
}

// logTicks marks a log axis: a tick at m×10^e for m = 1..9, labelled at
// m = 1 when e is a multiple of every, and also at m = 2 and 5 when
// oneTwoFive is set. Minor ticks are left out when labels are thinned
// (every > 1), as they would crowd a wide range.
type logTicks struct {
	every      int
	oneTwoFive bool
}

// Ticks implements plot.Ticker.
func (t logTicks) Ticks(lo, hi float64) []plot.Tick {
	return decadeTicks(lo, hi, t.every, func(e, m int) string {
		if (m == 1 && e%t.every == 0) || (t.oneTwoFive && (m == 2 || m == 5)) {
			return strconv.FormatFloat(float64(m)*math.Pow10(e), 'g', -1, 64)
		}
		return ""
	})
}

// percentileTicks labels a 1/(1-q) log axis in percentiles, at every
// every-th decade.
type percentileTicks struct{ every int }

// Ticks implements plot.Ticker.
func (t percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	return decadeTicks(lo, hi, t.every, func(e, m int) string {
		if m == 1 && e%t.every == 0 {
			return percentileLabel(e)
		}
		return ""
	})
}

// decadeTicks returns, in ascending order, ticks at m×10^e for each
// decade e touching [lo, hi], labelled by label(e, m); with every > 1
// only m = 1 is ticked. Non-positive or empty ranges give no ticks.
func decadeTicks(lo, hi float64, every int, label func(e, m int) string) []plot.Tick {
	if !(lo > 0 && hi > lo) {
		return nil
	}
	every = max(every, 1)
	e0 := clampExp(math.Floor(math.Log10(lo)))
	e1 := clampExp(math.Ceil(math.Log10(hi)))
	var ticks []plot.Tick
	for e := e0; e <= e1; e++ {
		for m := 1; m <= 9; m++ {
			if m > 1 && (every > 1 || e == e1) {
				break
			}
			v := float64(m) * math.Pow10(e)
			ticks = append(ticks, plot.Tick{Value: v, Label: label(e, m)})
		}
	}
	return ticks
}

// percentileLabel names decade e of a percentile axis whose values are
// 1/(1-q): 10^0 is "0%", 10^1 "90%", 10^2 "99%", 10^3 "99.9%", and so on.
// It is built as a string, not formatted from 100*(1-10^-e), to avoid
// float noise such as "99.90000000000001%".
func percentileLabel(e int) string {
	switch {
	case e <= 0:
		return "0%"
	case e == 1:
		return "90%"
	case e == 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", e-2) + "%"
}
