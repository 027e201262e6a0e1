package chart

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// pointLabels draws a text label beside each point of a Scatter, trying
// a few positions around the point and keeping the first that overlaps
// neither another label nor a marker and stays inside the data area. If
// none does, the label goes to the right of its point, which the plot
// has padded room for (see GlyphBoxes). Points that share coordinates
// still collide; that is accepted.
type pointLabels struct {
	at     plotter.XYs // label anchors, in data coordinates
	text   []string
	all    plotter.XYs // every drawn marker, as obstacles
	radius vg.Length   // marker radius
	style  text.Style
}

// gap is the space between a marker's edge and its label.
var gap = vg.Points(3)

// Plot implements plot.Plotter.
func (pl *pointLabels) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	var taken []vg.Rectangle
	for _, m := range pl.all {
		at := vg.Point{X: trX(m.X), Y: trY(m.Y)}
		r := vg.Point{X: pl.radius, Y: pl.radius}
		taken = append(taken, vg.Rectangle{Min: at.Sub(r), Max: at.Add(r)})
	}
	for i, s := range pl.text {
		at := vg.Point{X: trX(pl.at[i].X), Y: trY(pl.at[i].Y)}
		box := pl.place(c.Rectangle, at, s, taken)
		taken = append(taken, box)
		rect := pl.style.Rectangle(s)
		c.FillText(pl.style, box.Min.Sub(rect.Min), s)
	}
}

// place returns the box for label s of the point at, avoiding taken.
func (pl *pointLabels) place(area vg.Rectangle, at vg.Point, s string, taken []vg.Rectangle) vg.Rectangle {
	cands := pl.candidates(at, pl.style.Rectangle(s).Size())
	for _, b := range cands {
		if inside(b, area) && !overlapsAny(b, taken) {
			return b
		}
	}
	return cands[0]
}

// candidates lists label boxes of the given size around at, best first:
// right, above-right, below-right, left, above-left, below-left, above,
// below.
func (pl *pointLabels) candidates(at, size vg.Point) []vg.Rectangle {
	g := pl.radius + gap // beside or above a marker
	d := pl.radius       // diagonal: touching the marker's bounding box corner
	w, h := size.X, size.Y
	mins := []vg.Point{
		{X: at.X + g, Y: at.Y - h/2},
		{X: at.X + d, Y: at.Y + d},
		{X: at.X + d, Y: at.Y - d - h},
		{X: at.X - g - w, Y: at.Y - h/2},
		{X: at.X - d - w, Y: at.Y + d},
		{X: at.X - d - w, Y: at.Y - d - h},
		{X: at.X - w/2, Y: at.Y + g},
		{X: at.X - w/2, Y: at.Y - g - h},
	}
	boxes := make([]vg.Rectangle, len(mins))
	for i, m := range mins {
		boxes[i] = vg.Rectangle{Min: m, Max: m.Add(size)}
	}
	return boxes
}

// GlyphBoxes implements plot.GlyphBoxer with the fallback (right-hand)
// box of every label, so the plot pads its data area to fit them.
func (pl *pointLabels) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	bs := make([]plot.GlyphBox, len(pl.text))
	for i, s := range pl.text {
		b := pl.candidates(vg.Point{}, pl.style.Rectangle(s).Size())[0]
		bs[i] = plot.GlyphBox{X: p.X.Norm(pl.at[i].X), Y: p.Y.Norm(pl.at[i].Y), Rectangle: b}
	}
	return bs
}

// inside reports whether b lies within area.
func inside(b, area vg.Rectangle) bool {
	return b.Min.X >= area.Min.X && b.Min.Y >= area.Min.Y && b.Max.X <= area.Max.X && b.Max.Y <= area.Max.Y
}

// overlapsAny reports whether b intersects any of rs.
func overlapsAny(b vg.Rectangle, rs []vg.Rectangle) bool {
	for _, r := range rs {
		if b.Min.X < r.Max.X && r.Min.X < b.Max.X && b.Min.Y < r.Max.Y && r.Min.Y < b.Max.Y {
			return true
		}
	}
	return false
}
