package chart

import (
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// BarSeries is one bar per category: Values[i] is the height of its bar
// in Categories[i].
type BarSeries struct {
	Name   string // legend entry; empty for none
	Values []float64
}

// Bars is a grouped bar chart: one group per category, one bar per series
// within each group, e.g. categories "put c16", "put c64" and series
// "chorus", "etcd". Bars rise from zero; negative values point down.
type Bars struct {
	Title, YLabel string

	// Categories name the groups along the x axis; at least one.
	Categories []string

	// Series are the bars of each group, left to right; at least one,
	// each with exactly len(Categories) values.
	Series []BarSeries

	// Width and Height are the image size in inches, as for Lines.
	Width, Height float64
}

// groupWidth is the fraction of the space between two categories that
// a group of bars fills, leaving a gap between groups.
const groupWidth = 0.8

// Write validates b and renders it to w in format f. Invalid input yields
// an error wrapping ErrInvalid and nothing is written.
func (b Bars) Write(w io.Writer, f Format) error {
	return write(w, f, b.figure)
}

// Save writes b to path, in the format named by its extension (".png" or
// ".svg"), replacing the file atomically.
func (b Bars) Save(path string) error {
	return save(path, b.Write)
}

// validate checks every rule documented on Bars and BarSeries.
func (b Bars) validate() error {
	if len(b.Series) == 0 {
		return invalidf("no series")
	}
	if len(b.Categories) == 0 {
		return invalidf("no categories")
	}
	for i, s := range b.Series {
		name := seriesName(i, s.Name)
		if len(s.Values) != len(b.Categories) {
			return invalidf("%s has %d values for %d categories", name, len(s.Values), len(b.Categories))
		}
		if err := checkValues(name+" value", s.Values); err != nil {
			return err
		}
	}
	return nil
}

// figure validates b and builds its figure.
func (b Bars) figure() (*figure, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	w, h, err := size(b.Width, b.Height)
	if err != nil {
		return nil, err
	}
	fg := newFigure(b.Title, "", b.YLabel, w, h)
	fg.grid.Vertical.Color = nil // categories are not a scale
	ys := span{}
	ys.add(0)
	for i, s := range b.Series {
		bs := &barSet{values: s.Values, index: i, count: len(b.Series), color: plotutil.Color(i)}
		fg.plot.Add(bs)
		fg.addLegend(s.Name, bs)
		for _, v := range s.Values {
			ys.add(v)
		}
	}
	b.setAxes(fg, ys)
	return fg, nil
}

// setAxes makes x nominal (one tick per category) and fits y to the bars
// plus a little headroom, so the tallest bar does not touch the frame.
func (b Bars) setAxes(fg *figure, ys span) {
	p := fg.plot
	p.NominalX(b.Categories...)
	p.X.Min, p.X.Max = -0.5, float64(len(b.Categories))-0.5
	p.Y.Padding = 0
	if ys.hi > 0 {
		ys.add(ys.hi + 0.05*(ys.hi-ys.lo))
	}
	if ys.lo < 0 {
		ys.add(ys.lo - 0.05*(ys.hi-ys.lo))
	}
	setLinear(&p.Y, ys, fixed{}, fg.yRoom())
	if b.labelsCrowded(fg) {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
}

// labelsCrowded reports whether the category labels, laid side by side,
// would need more than the figure's width (a safe overestimate of the
// data area), in which case they are drawn slanted.
func (b Bars) labelsCrowded(fg *figure) bool {
	var widest vg.Length
	for _, c := range b.Categories {
		widest = max(widest, fg.plot.X.Tick.Label.Width(c))
	}
	avail := vg.Length(fg.width)*vg.Inch*0.6 - vg.Points(20)
	return widest*vg.Length(len(b.Categories)) > avail
}

// barSet draws one series of a Bars plot: the index-th bar of count in
// every category group. It is a plot.Plotter and plot.Thumbnailer. Bar
// widths are in data units (fractions of a category), unlike
// plotter.BarChart's fixed lengths, so they adapt to the image size.
type barSet struct {
	values       []float64
	index, count int
	color        color.Color
}

// Plot implements plot.Plotter.
func (bs *barSet) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	w := groupWidth / float64(bs.count)
	for i, v := range bs.values {
		x0 := float64(i) - groupWidth/2 + float64(bs.index)*w
		l, r := trX(x0), trX(x0+w)
		b, t := trY(0), trY(v)
		rect := []vg.Point{{X: l, Y: b}, {X: l, Y: t}, {X: r, Y: t}, {X: r, Y: b}}
		c.FillPolygon(bs.color, c.ClipPolygonXY(rect))
		c.StrokeLines(barOutline, c.ClipLinesXY(append(rect, rect[0]))...)
	}
}

// barOutline separates adjacent bars of similar colour.
var barOutline = draw.LineStyle{Color: color.Gray{Y: 60}, Width: vg.Points(0.5)}

// Thumbnail implements plot.Thumbnailer: a filled swatch in the legend.
func (bs *barSet) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	pts := []vg.Point{r.Min, {X: r.Min.X, Y: r.Max.Y}, r.Max, {X: r.Max.X, Y: r.Min.Y}}
	c.FillPolygon(bs.color, c.ClipPolygonXY(pts))
	c.StrokeLines(barOutline, append(pts, pts[0]))
}
