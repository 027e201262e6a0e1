package plots

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/chorusdb/chorus/bench/chart"
)

// Image size and resolution: 8 x 4.5 inches at 150 dpi is 1200 x 675
// pixels.
const (
	width  = 8 * vg.Inch
	height = 4.5 * vg.Inch
	dpi    = 150
)

// newPlot returns a plot with a title, axis labels and a light grid.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xlabel, ylabel
	p.Title.Padding = vg.Points(6)
	p.Title.TextStyle.Font = sans(14)
	p.X.Label.TextStyle.Font, p.Y.Label.TextStyle.Font = sans(12), sans(12)
	p.X.Tick.Label.Font, p.Y.Tick.Label.Font = sans(10), sans(10)
	p.Legend.TextStyle.Font, p.Legend.Padding = sans(11), vg.Points(3)
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = color.Gray{Y: 215}, color.Gray{Y: 215}
	p.Add(grid)
	return p
}

// sans returns Liberation Sans (metrically Arial, always loaded by
// gonum/plot) at size points: it reads better than the default serif
// when an image is shown small.
func sans(size float64) font.Font {
	return font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, vg.Points(size))
}

// addLine draws series i through xs and ys with its colour and dash
// pattern, with a legend entry unless name is empty.
func addLine(p *plot.Plot, i int, name string, xs, ys []float64) error {
	l, err := plotter.NewLine(xys(xs, ys))
	if err != nil {
		return fmt.Errorf("plots: %s: %w", name, err)
	}
	l.LineStyle = draw.LineStyle{Color: plotutil.Color(i), Width: vg.Points(2), Dashes: plotutil.Dashes(i)}
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
	return nil
}

// xys pairs xs and ys, which have the same length.
func xys(xs, ys []float64) plotter.XYs {
	pts := make(plotter.XYs, len(xs))
	for j := range xs {
		pts[j] = plotter.XY{X: xs[j], Y: ys[j]}
	}
	return pts
}

// ticker adapts a chart ticker to gonum's plot.Ticker.
type ticker func(lo, hi float64) []chart.Tick

func (t ticker) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, tk := range t(lo, hi) {
		out = append(out, plot.Tick{Value: tk.Value, Label: tk.Label})
	}
	return out
}

// percentileAxis makes a a log axis of 1/(1-q) from "0%" to the first
// whole number of nines at or beyond maxX.
func percentileAxis(a *plot.Axis, maxX float64) {
	a.Scale = plot.LogScale{}
	a.Min, a.Max = 1, chart.PercentileMax(maxX)
	a.Tick.Marker = ticker(chart.PercentileFor(a.Min, a.Max, 8).Ticks)
}

// slantLabels slants the x tick labels when there are more than fit side
// by side.
func slantLabels(p *plot.Plot, n int) {
	if n > 6 {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}
}

// save renders p to path as a PNG, its legend in a strip to the right of
// the plot.
func save(p *plot.Plot, path string) error {
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(dpi))
	dc := draw.Crop(draw.New(img), vg.Points(8), -vg.Points(8), vg.Points(8), -vg.Points(8))
	legend := p.Legend
	p.Legend = plot.NewLegend() // drawn beside the plot, not over its data
	defer func() { p.Legend = legend }()
	legend.Top, legend.Left = true, true
	legendWidth := min(legend.Rectangle(dc).Size().X, (dc.Max.X-dc.Min.X)/2)
	p.Draw(draw.Crop(dc, 0, -(legendWidth + vg.Points(10)), 0, 0))
	titleHeight := p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
	legend.Draw(draw.Crop(dc, dc.Max.X-dc.Min.X-legendWidth, 0, 0, -titleHeight))
	return writePNG(img, path)
}

// writePNG writes img to a temporary file in path's directory and
// renames it over path, so that a reader never sees a partial image; on
// error the temporary file is removed and path left as it was.
func writePNG(img *vgimg.Canvas, path string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	_, werr := vgimg.PngCanvas{Canvas: img}.WriteTo(tmp)
	if err := errors.Join(werr, tmp.Chmod(0o644), tmp.Close()); err != nil {
		return fmt.Errorf("plots: %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
