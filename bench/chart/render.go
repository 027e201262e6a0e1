package chart

import (
	"fmt"
	"image/color"
	"io"
	"unicode/utf8"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Font sizes, in points. gonum's defaults (12/12/10) make titles no larger
// than axis labels; these keep a hierarchy while staying readable when the
// image is shown at half size in a report.
const (
	titleSize  = 15
	labelSize  = 13
	tickSize   = 11
	legendSize = 12
	pointSize  = 10 // Scatter point labels.
)

// maxNameLen is the most runes of a legend name that are shown; longer
// names are cut, so that one long name cannot squeeze the data area.
const maxNameLen = 40

// Layout constants.
var (
	margin      = vg.Points(8)  // blank border around the whole image
	legendGap   = vg.Points(10) // between the data area and the legend
	lineWidth   = vg.Points(2)
	legendThumb = vg.Points(28)
	lightGray   = color.Gray{Y: 215}
)

// figure is a plot plus a legend drawn outside its data area.
type figure struct {
	plot          *plot.Plot
	grid          *plotter.Grid
	legend        plot.Legend
	entries       int
	width, height float64 // inches
}

// newFigure returns a figure of the given size whose plot has the
// package's fonts, the given title and axis labels, and a light grid.
func newFigure(title, xlabel, ylabel string, width, height float64) *figure {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = fontOf(titleSize)
	p.Title.Padding = vg.Points(8)
	styleAxis(&p.X, xlabel)
	styleAxis(&p.Y, ylabel)
	grid := plotter.NewGrid()
	grid.Vertical.Color = lightGray
	grid.Horizontal.Color = lightGray
	p.Add(grid)

	l := plot.NewLegend()
	l.TextStyle.Font = fontOf(legendSize)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = legendThumb
	l.Padding = vg.Points(3)
	return &figure{plot: p, grid: grid, legend: l, width: width, height: height}
}

// styleAxis sets the label and the fonts of one axis.
func styleAxis(a *plot.Axis, label string) {
	a.Label.Text = label
	a.Label.TextStyle.Font = fontOf(labelSize)
	a.Label.Padding = vg.Points(4)
	a.Tick.Label.Font = fontOf(tickSize)
}

// fontOf returns the package's font at size points. Liberation Sans
// (metrically compatible with Arial) reads better at small sizes than
// gonum's default serif; the Liberation collection is always loaded by
// package plot, so this cannot fail to resolve.
func fontOf(size float64) font.Font {
	return font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, vg.Points(size))
}

// addLegend adds a legend entry unless name is empty.
func (fg *figure) addLegend(name string, thumbs ...plot.Thumbnailer) {
	if name == "" {
		return
	}
	if utf8.RuneCountInString(name) > maxNameLen {
		name = string([]rune(name)[:maxNameLen-3]) + "..."
	}
	fg.legend.Add(name, thumbs...)
	fg.entries++
}

// draw lays the figure out on c: the plot on the left, the legend (if
// any) in a strip on the right, top-aligned with the data area.
func (fg *figure) draw(c draw.Canvas) {
	// The plot fills only its own area; paint the margins and legend
	// strip too, else they are transparent in SVG.
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	c = draw.Crop(c, margin, -margin, margin, -margin)
	if fg.entries == 0 {
		fg.plot.Draw(c)
		return
	}
	lw := fg.legendWidth(c.Max.X - c.Min.X)
	fg.plot.Draw(draw.Crop(c, 0, -(lw + legendGap), 0, 0))
	strip := draw.Crop(c, c.Max.X-c.Min.X-lw, 0, 0, -fg.titleHeight())
	fg.legend.Draw(strip)
}

// legendWidth is the width of the legend strip in a figure of inner
// width w: the legend's natural width, at most half of w.
func (fg *figure) legendWidth(w vg.Length) vg.Length {
	return min(fg.legend.Rectangle(draw.Canvas{}).Size().X, w/2)
}

// Rough sizes of the axes (ticks, tick labels, axis label and padding),
// used to estimate the data area before gonum lays the plot out.
var (
	yAxisWidth  = vg.Inch * 0.9
	xAxisHeight = vg.Inch * 0.7
)

// xRoom estimates the room the x tick labels have: the width of the data
// area, which is known only once the plot is drawn.
func (fg *figure) xRoom() room {
	w := vg.Length(fg.width)*vg.Inch - 2*margin
	if fg.entries > 0 {
		w -= fg.legendWidth(w) + legendGap
	}
	return room{length: w - yAxisWidth, across: true}
}

// yRoom estimates the height of the data area, as xRoom does the width.
func (fg *figure) yRoom() room {
	h := vg.Length(fg.height)*vg.Inch - 2*margin - fg.titleHeight() - xAxisHeight
	return room{length: h}
}

// titleHeight is the vertical space the plot title takes, zero if none.
func (fg *figure) titleHeight() vg.Length {
	t := fg.plot.Title
	if t.Text == "" {
		return 0
	}
	return t.TextStyle.Rectangle(t.Text).Size().Y + t.Padding
}

// writeTo renders the figure in format f and copies the image to w.
func (fg *figure) writeTo(w io.Writer, f Format) error {
	width, height := vg.Length(fg.width)*vg.Inch, vg.Length(fg.height)*vg.Inch
	var cw vg.CanvasWriterTo
	switch f {
	case PNG:
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI))}
	case SVG:
		cw = vgsvg.New(width, height)
	default:
		return f.validate()
	}
	fg.draw(draw.New(cw))
	if _, err := cw.WriteTo(w); err != nil {
		return fmt.Errorf("chart: write %s: %w", f, err)
	}
	return nil
}

// write is the body shared by every Write method: check the format, build
// the figure (which validates the input), then render it. A panic in the
// plotting library is turned into an error so that no input can crash the
// caller; validation is meant to make that path unreachable.
func write(w io.Writer, f Format, build func() (*figure, error)) (err error) {
	if err := f.validate(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("chart: rendering failed: %v", r)
		}
	}()
	fg, err := build()
	if err != nil {
		return err
	}
	return fg.writeTo(w, f)
}
