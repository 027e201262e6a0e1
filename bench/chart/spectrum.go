package chart

import (
	"fmt"
	"io"
	"time"

	"gonum.org/v1/plot/plotter"
)

// Quantiles is one latency distribution of a Spectrum: Latency[i] is the
// Q[i] quantile. Q must be non-decreasing, each in [0, 1); latencies must
// be non-negative. Zero points is allowed.
type Quantiles struct {
	Name    string // legend entry; empty for none
	Q       []float64
	Latency []time.Duration
}

// Spectrum is the HdrHistogram-style percentile spectrum of one or more
// latency distributions. The x axis is 1/(1-q) on a log scale, so each
// "nine" gets the same width; its ticks read "0%", "90%", "99%",
// "99.9%", .... The y axis is latency in Unit, linear from zero.
type Spectrum struct {
	Title  string
	Series []Quantiles // at least one

	// Width and Height are the image size in inches, as for Lines.
	Width, Height float64

	// Unit is the y axis unit, time.Millisecond when zero. It must not be
	// negative.
	Unit time.Duration
}

// minNines is the fewest decades the x axis shows (up to "99%"), so that
// a short distribution still reads as a spectrum.
const minNines = 2

// Write validates s and renders it to w in format f. Invalid input yields
// an error wrapping ErrInvalid and nothing is written.
func (s Spectrum) Write(w io.Writer, f Format) error {
	return write(w, f, s.figure)
}

// Save writes s to path, in the format named by its extension (".png" or
// ".svg"), replacing the file atomically.
func (s Spectrum) Save(path string) error {
	return save(path, s.Write)
}

// validate checks every rule documented on Spectrum and Quantiles.
func (s Spectrum) validate() error {
	if len(s.Series) == 0 {
		return invalidf("no series")
	}
	if s.Unit < 0 {
		return invalidf("negative unit %v", s.Unit)
	}
	for i, q := range s.Series {
		if err := q.validate(i); err != nil {
			return err
		}
	}
	return nil
}

// validate checks series i.
func (q Quantiles) validate(i int) error {
	name := seriesName(i, q.Name)
	if len(q.Q) != len(q.Latency) {
		return invalidf("%s has %d quantiles but %d latencies", name, len(q.Q), len(q.Latency))
	}
	for j, v := range q.Q {
		if !(v >= 0 && v < 1) { // also rejects NaN
			return invalidf("%s Q[%d] = %g outside [0, 1)", name, j, v)
		}
		if j > 0 && v < q.Q[j-1] {
			return invalidf("%s Q[%d] = %g below Q[%d] = %g", name, j, v, j-1, q.Q[j-1])
		}
	}
	for j, d := range q.Latency {
		if d < 0 {
			return invalidf("%s Latency[%d] = %v is negative", name, j, d)
		}
	}
	return nil
}

// figure validates s and builds its figure.
func (s Spectrum) figure() (*figure, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	w, h, err := size(s.Width, s.Height)
	if err != nil {
		return nil, err
	}
	unit := s.unit()
	fg := newFigure(s.Title, "percentile", fmt.Sprintf("latency (%s)", unitName(unit)), w, h)
	var xs, ys span
	for i, q := range s.Series {
		pts := q.points(unit)
		for _, p := range pts {
			xs.add(p.X)
			ys.add(p.Y)
		}
		if err := addLine(fg, i, q.Name, pts); err != nil {
			return nil, err
		}
	}
	setPercentile(&fg.plot.X, xs, fg.xRoom())
	ys.add(0) // latency axis starts at zero
	setLinear(&fg.plot.Y, ys, fixed{}, fg.yRoom())
	return fg, nil
}

// unit returns the y unit, defaulting to milliseconds.
func (s Spectrum) unit() time.Duration {
	if s.Unit == 0 {
		return time.Millisecond
	}
	return s.Unit
}

// points maps q to plot coordinates: x = 1/(1-Q), y = Latency in unit.
func (q Quantiles) points(unit time.Duration) plotter.XYs {
	pts := make(plotter.XYs, len(q.Q))
	for i := range q.Q {
		pts[i] = plotter.XY{X: 1 / (1 - q.Q[i]), Y: float64(q.Latency[i]) / float64(unit)}
	}
	return pts
}

// unitName is the short name of a latency unit for the axis label.
func unitName(u time.Duration) string {
	switch u {
	case time.Nanosecond:
		return "ns"
	case time.Microsecond:
		return "µs"
	case time.Millisecond:
		return "ms"
	case time.Second:
		return "s"
	case time.Minute:
		return "min"
	}
	return "×" + u.String()
}
