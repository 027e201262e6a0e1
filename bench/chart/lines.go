package chart

import (
	"fmt"
	"io"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one line of a Lines plot: the points (X[i], Y[i]) joined in
// order. X and Y must have the same length; zero points is allowed.
type Series struct {
	Name string // legend entry; empty for none
	X, Y []float64
}

// Lines is a line plot of one or more series, e.g. throughput over time.
type Lines struct {
	Title, XLabel, YLabel string

	// Series are drawn in order; series i gets plotutil.Color(i) and
	// plotutil.Dashes(i). At least one series is required.
	Series []Series

	// LogX and LogY select log scales. Points with a coordinate <= 0 on
	// a log axis are skipped.
	LogX, LogY bool

	// YMin and YMax, when non-nil, fix that end of the y axis; otherwise
	// it fits the data. Both must be finite, YMin < YMax if both are
	// set, and positive on a log axis.
	YMin, YMax *float64

	// Width and Height are the image size in inches, DefaultWidth x
	// DefaultHeight when zero, else within [MinSize, MaxSize].
	Width, Height float64
}

// Write validates l and renders it to w in format f. Invalid input yields
// an error wrapping ErrInvalid and nothing is written.
func (l Lines) Write(w io.Writer, f Format) error {
	return write(w, f, l.figure)
}

// Save writes l to path, in the format named by its extension (".png" or
// ".svg"), replacing the file atomically.
func (l Lines) Save(path string) error {
	return save(path, l.Write)
}

// validate checks every rule documented on Lines and Series.
func (l Lines) validate() error {
	if len(l.Series) == 0 {
		return invalidf("no series")
	}
	for i, s := range l.Series {
		if err := s.validate(i); err != nil {
			return err
		}
	}
	return validateRange(l.YMin, l.YMax, l.LogY)
}

// validate checks series i.
func (s Series) validate(i int) error {
	name := seriesName(i, s.Name)
	if len(s.X) != len(s.Y) {
		return invalidf("%s has %d x values but %d y values", name, len(s.X), len(s.Y))
	}
	if err := checkValues(name+" x", s.X); err != nil {
		return err
	}
	return checkValues(name+" y", s.Y)
}

// validateRange checks the optional fixed bounds of an axis.
func validateRange(lo, hi *float64, log bool) error {
	for _, b := range []struct {
		name string
		v    *float64
	}{{"YMin", lo}, {"YMax", hi}} {
		if b.v == nil {
			continue
		}
		if err := checkValue(b.name, *b.v); err != nil {
			return err
		}
		if log && *b.v <= 0 {
			return invalidf("%s = %g on a log axis", b.name, *b.v)
		}
	}
	if lo != nil && hi != nil && !(*lo < *hi) {
		return invalidf("YMin %g is not below YMax %g", *lo, *hi)
	}
	return nil
}

// figure validates l and builds its figure.
func (l Lines) figure() (*figure, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	w, h, err := size(l.Width, l.Height)
	if err != nil {
		return nil, err
	}
	fg := newFigure(l.Title, l.XLabel, l.YLabel, w, h)
	var xs, ys span
	for i, s := range l.Series {
		pts := l.visible(s)
		for _, p := range pts {
			xs.add(p.X)
			ys.add(p.Y)
		}
		if err := addLine(fg, i, s.Name, pts); err != nil {
			return nil, err
		}
	}
	l.setAxes(fg, xs, ys)
	return fg, nil
}

// visible returns the points of s that can be drawn on l's axes.
func (l Lines) visible(s Series) plotter.XYs {
	pts := make(plotter.XYs, 0, len(s.X))
	for i := range s.X {
		if (l.LogX && s.X[i] <= 0) || (l.LogY && s.Y[i] <= 0) {
			continue
		}
		pts = append(pts, plotter.XY{X: s.X[i], Y: s.Y[i]})
	}
	return pts
}

// setAxes sets both axis ranges and scales from the drawn data.
func (l Lines) setAxes(fg *figure, xs, ys span) {
	if l.LogX {
		setLog(&fg.plot.X, xs, fixed{}, fg.xRoom())
	} else {
		setLinear(&fg.plot.X, xs, fixed{}, fg.xRoom())
	}
	yFix := fixed{lo: l.YMin, hi: l.YMax}
	if l.LogY {
		setLog(&fg.plot.Y, ys, yFix, fg.yRoom())
	} else {
		setLinear(&fg.plot.Y, ys, yFix, fg.yRoom())
	}
}

// addLine draws series i through pts with its colour and dash pattern and
// adds its legend entry. A lone point gets a marker, since a line through
// one point is invisible.
func addLine(fg *figure, i int, name string, pts plotter.XYs) error {
	line, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	line.LineStyle = lineStyle(i)
	if len(pts) > 0 {
		fg.plot.Add(line)
	}
	if len(pts) == 1 {
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: plotutil.Color(i), Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		fg.plot.Add(sc)
	}
	fg.addLegend(name, line)
	return nil
}

// lineStyle is the style of series i.
func lineStyle(i int) draw.LineStyle {
	return draw.LineStyle{Color: plotutil.Color(i), Width: lineWidth, Dashes: plotutil.Dashes(i)}
}
