package chart

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Point is one labelled point of a Scatter.
type Point struct {
	Label string  // drawn beside the point, e.g. "R=1 W=2"; may be empty
	X, Y  float64 // must be finite
	Group string  // points of a group share a colour, marker and legend entry
}

// Scatter is a plot of labelled points, for trade-offs such as latency
// (x) against the probability of a stale read (y) per quorum setting.
type Scatter struct {
	Title, XLabel, YLabel string

	// Points are drawn in order. Groups get colours and markers in order
	// of first appearance; the empty group has no legend entry. At least
	// one point is required.
	Points []Point

	// LogX selects a log x axis; points with X <= 0 are then skipped.
	LogX bool

	// Width and Height are the image size in inches, as for Lines.
	Width, Height float64
}

// Write validates s and renders it to w in format f. Invalid input yields
// an error wrapping ErrInvalid and nothing is written.
func (s Scatter) Write(w io.Writer, f Format) error {
	return write(w, f, s.figure)
}

// Save writes s to path, in the format named by its extension (".png" or
// ".svg"), replacing the file atomically.
func (s Scatter) Save(path string) error {
	return save(path, s.Write)
}

// validate checks every rule documented on Scatter and Point.
func (s Scatter) validate() error {
	if len(s.Points) == 0 {
		return invalidf("no points")
	}
	for i, p := range s.Points {
		what := fmt.Sprintf("point %d %q", i, p.Label)
		if err := checkValue(what+" x", p.X); err != nil {
			return err
		}
		if err := checkValue(what+" y", p.Y); err != nil {
			return err
		}
	}
	return nil
}

// group is the drawable points of one Group.
type group struct {
	name string
	pts  plotter.XYs
}

// groups splits the drawable points by Group, in order of first
// appearance. A group whose points are all skipped is kept (empty) so
// colours do not depend on LogX.
func (s Scatter) groups() []group {
	var gs []group
	index := map[string]int{}
	for _, p := range s.Points {
		i, ok := index[p.Group]
		if !ok {
			i = len(gs)
			index[p.Group] = i
			gs = append(gs, group{name: p.Group})
		}
		if !s.LogX || p.X > 0 {
			gs[i].pts = append(gs[i].pts, plotter.XY{X: p.X, Y: p.Y})
		}
	}
	return gs
}

// figure validates s and builds its figure.
func (s Scatter) figure() (*figure, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	w, h, err := size(s.Width, s.Height)
	if err != nil {
		return nil, err
	}
	fg := newFigure(s.Title, s.XLabel, s.YLabel, w, h)
	var xs, ys span
	groups := s.groups()
	for i, g := range groups {
		for _, p := range g.pts {
			xs.add(p.X)
			ys.add(p.Y)
		}
		if err := addGroup(fg, i, g); err != nil {
			return nil, err
		}
	}
	s.addLabels(fg, groups)
	if s.LogX {
		setLog(&fg.plot.X, xs, fixed{}, fg.xRoom())
	} else {
		setLinear(&fg.plot.X, xs, fixed{}, fg.xRoom())
	}
	setLinear(&fg.plot.Y, ys, fixed{}, fg.yRoom())
	return fg, nil
}

// addGroup draws the markers of group i and adds its legend entry.
func addGroup(fg *figure, i int, g group) error {
	sc, err := plotter.NewScatter(g.pts)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: plotutil.Color(i), Radius: markerRadius, Shape: plotutil.Shape(i)}
	if len(g.pts) > 0 {
		fg.plot.Add(sc)
	}
	fg.addLegend(g.name, sc)
	return nil
}

// addLabels draws each drawable point's label beside it.
func (s Scatter) addLabels(fg *figure, groups []group) {
	pl := &pointLabels{radius: markerRadius, style: labelStyle()}
	for _, g := range groups {
		pl.all = append(pl.all, g.pts...)
	}
	for _, p := range s.Points {
		if p.Label == "" || (s.LogX && p.X <= 0) {
			continue
		}
		pl.at = append(pl.at, plotter.XY{X: p.X, Y: p.Y})
		pl.text = append(pl.text, p.Label)
	}
	if len(pl.text) > 0 {
		fg.plot.Add(pl)
	}
}

// markerRadius is the size of Scatter markers.
var markerRadius = vg.Points(4)

// labelStyle is the text style of Scatter point labels.
func labelStyle() text.Style {
	return text.Style{
		Color:   color.Gray{Y: 40},
		Font:    fontOf(pointSize),
		Handler: plot.DefaultTextHandler,
	}
}
