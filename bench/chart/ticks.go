package chart

import (
	"math"
	"strconv"
	"strings"
)

// Tick is one mark on an axis: a major tick when Label is non-empty, a
// minor one otherwise.
type Tick struct {
	Value float64
	Label string
}

// Log axes are clamped to [10^minExp, 10^maxExp]: math.Pow10 underflows
// to zero below 1e-323, and zero is not a valid log-axis bound.
const (
	minExp = -300
	maxExp = 300
)

// Log marks a log axis: a tick at m×10^e for m = 1..9, labelled at m = 1
// when e is a multiple of Every (1 when zero), and also at m = 2 and 5
// when OneTwoFive is set. Minor ticks are left out when labels are
// thinned (Every > 1), as they would crowd a wide range.
type Log struct {
	Every      int
	OneTwoFive bool
}

// LogFor returns the Log ticker that labels [lo, hi] with at most
// maxLabels labels: 1, 2 and 5 times each power of ten if they fit, else
// every power of ten, else every k-th.
func LogFor(lo, hi float64, maxLabels int) Log {
	if t := (Log{Every: 1, OneTwoFive: true}); labelCount(t.Ticks(lo, hi)) <= maxLabels {
		return t
	}
	every := 1
	for labelCount(Log{Every: every}.Ticks(lo, hi)) > max(maxLabels, 1) && every < maxExp-minExp {
		every++
	}
	return Log{Every: every}
}

// Ticks returns the ticks of [lo, hi] in ascending order.
func (t Log) Ticks(lo, hi float64) []Tick {
	every := max(t.Every, 1)
	return decadeTicks(lo, hi, every, func(e, m int) string {
		if (m == 1 && e%every == 0) || (t.OneTwoFive && every == 1 && (m == 2 || m == 5)) {
			return strconv.FormatFloat(float64(m)*math.Pow10(e), 'g', -1, 64)
		}
		return ""
	})
}

// Percentile labels a log axis of x = 1/(1-q) in percentiles, at every
// Every-th decade (every decade when zero): 1 is "0%", 10 "90%", 100
// "99%", 1000 "99.9%", and so on.
type Percentile struct{ Every int }

// PercentileFor returns the Percentile ticker that labels [lo, hi] with
// at most maxLabels labels.
func PercentileFor(lo, hi float64, maxLabels int) Percentile {
	every := 1
	for labelCount(Percentile{Every: every}.Ticks(lo, hi)) > max(maxLabels, 1) && every < maxExp {
		every++
	}
	return Percentile{Every: every}
}

// Ticks returns the ticks of [lo, hi] in ascending order.
func (t Percentile) Ticks(lo, hi float64) []Tick {
	every := max(t.Every, 1)
	return decadeTicks(lo, hi, every, func(e, m int) string {
		if m == 1 && e%every == 0 {
			return percentileLabel(e)
		}
		return ""
	})
}

// PercentileX is where quantile q (0 <= q < 1) sits on a Percentile
// axis: 1/(1-q).
func PercentileX(q float64) float64 { return 1 / (1 - q) }

// PercentileMax returns the end of a Percentile axis that shows x: the
// first whole number of nines at or beyond it, and at least 100 ("99%"),
// so that a short distribution still reads as a spectrum. An x within
// float noise of a power of ten counts as that power.
func PercentileMax(x float64) float64 {
	if !(x > 100) {
		return 100
	}
	// The slack keeps float noise (1/(1-0.9999) = 10000.000000000982)
	// from adding a decade.
	return math.Pow10(clampExp(math.Ceil(math.Log10(x) - 1e-9)))
}

// decadeTicks returns, in ascending order, ticks at m×10^e for each
// decade e touching [lo, hi], labelled by label(e, m); with every > 1
// only m = 1 is ticked. Non-positive or empty ranges give no ticks.
func decadeTicks(lo, hi float64, every int, label func(e, m int) string) []Tick {
	if !(lo > 0 && hi > lo) || math.IsInf(hi, 1) {
		return nil
	}
	e0 := clampExp(math.Floor(math.Log10(lo)))
	e1 := clampExp(math.Ceil(math.Log10(hi)))
	var ticks []Tick
	for e := e0; e <= e1; e++ {
		for m := 1; m <= 9; m++ {
			if m > 1 && (every > 1 || e == e1) {
				break
			}
			ticks = append(ticks, Tick{Value: float64(m) * math.Pow10(e), Label: label(e, m)})
		}
	}
	return ticks
}

// labelCount counts the labelled ticks.
func labelCount(ts []Tick) int {
	n := 0
	for _, t := range ts {
		if t.Label != "" {
			n++
		}
	}
	return n
}

// percentileLabel names decade e of a percentile axis. It is built as a
// string, not formatted from 100*(1-10^-e), to avoid float noise such as
// "99.90000000000001%".
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
