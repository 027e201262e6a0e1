package plots

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/chart"
)

// Run writes prefix-throughput.png (successful and failed operations per
// second, in TimelineStep steps; runs bounded by a duration only) and
// prefix-latency.png (the latency spectrum of each operation kind), and
// returns the files written.
func Run(prefix, target string, res *bench.Result) ([]string, error) {
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	title := target + ": " + res.Config.Describe()
	var files []string
	if len(res.Timeline) > 0 {
		p := newPlot(title+", throughput over time", "time (s)", "operations per second")
		if err := addTimeline(p, res.Timeline); err != nil {
			return nil, err
		}
		if err := save(p, prefix+"-throughput.png"); err != nil {
			return nil, err
		}
		files = append(files, prefix+"-throughput.png")
	}
	byOp := func(o *bench.OpReport) string { return o.Op }
	if p, ok := spectrum(title+", latency by percentile", bench.NewReport(res).Ops, byOp); ok {
		if err := save(p, prefix+"-latency.png"); err != nil {
			return files, err
		}
		files = append(files, prefix+"-latency.png")
	}
	return files, nil
}

// addTimeline draws the successes per second of a timeline, and the
// failures if any failed.
func addTimeline(p *plot.Plot, tl []bench.Step) error {
	xs, ok, failed := timelineSeries(tl)
	if err := addLine(p, 0, "succeeded", xs, ok); err != nil {
		return err
	}
	if failed != nil {
		return addLine(p, 1, "failed", xs, failed)
	}
	p.Y.Min = 0
	return nil
}

// timelineSeries returns the middle of each step in seconds, and the
// successes and failures per second; failed is nil when nothing failed.
func timelineSeries(tl []bench.Step) (xs, ok, failed []float64) {
	perSec := float64(time.Second) / float64(bench.TimelineStep)
	anyFailed := false
	for i, st := range tl {
		xs = append(xs, (float64(i)+0.5)*bench.TimelineStep.Seconds())
		ok, failed = append(ok, float64(st.OK)*perSec), append(failed, float64(st.Failed)*perSec)
		anyFailed = anyFailed || st.Failed > 0
	}
	if !anyFailed {
		failed = nil
	}
	return xs, ok, failed
}

// spectrum plots the latency spectra of ops, each named by name; false
// when none has one.
func spectrum(title string, ops []*bench.OpReport, name func(*bench.OpReport) string) (*plot.Plot, bool) {
	p := newPlot(title, "percentile", "latency (ms)")
	maxX, n := 1.0, 0
	for _, o := range ops {
		if len(o.Spectrum) == 0 {
			continue
		}
		var xs, ys []float64
		for _, q := range o.Spectrum {
			xs, ys = append(xs, chart.PercentileX(q.Q)), append(ys, q.MS)
			maxX = max(maxX, chart.PercentileX(q.Q))
		}
		if addLine(p, n, name(o), xs, ys) == nil {
			n++
		}
	}
	percentileAxis(&p.X, maxX)
	p.Y.Min = 0
	return p, n > 0
}

// Compare writes a comparison's plots into dir: compare-throughput.png
// and compare-p99.png (bars per client count and target) and
// compare-latency-c<clients>.png (the spectra at each client count).
func Compare(dir string, load bench.Config, clients []int, runs []*bench.CompareRun) error {
	var cats []string
	for _, c := range clients {
		cats = append(cats, fmt.Sprintf("%d clients", c))
	}
	targets := []string{"chorus", "chorus-nosync", bench.CompareBaseline}
	ops := func(t string, i int) float64 {
		return compareValue(runs, t, clients[i], func(r *bench.CompareRun) float64 { return r.Report.TotalOpsPerSec() })
	}
	p99 := func(t string, i int) float64 {
		return compareValue(runs, t, clients[i], func(r *bench.CompareRun) float64 { return r.MainOp().P99MS })
	}
	errs := []error{
		bars(filepath.Join(dir, "compare-throughput.png"), load.Describe()+": throughput", "operations per second", cats, targets, ops),
		bars(filepath.Join(dir, "compare-p99.png"), load.Describe()+": p99 latency", "p99 (ms)", cats, targets, p99),
	}
	for _, c := range clients {
		errs = append(errs, compareSpectrum(dir, load, c, runs))
	}
	return errors.Join(errs...)
}

// compareValue returns f of target's run at clients, 0 if there is none.
func compareValue(runs []*bench.CompareRun, target string, clients int, f func(*bench.CompareRun) float64) float64 {
	for _, r := range runs {
		if r.Target == target && r.Clients == clients {
			return f(r)
		}
	}
	return 0
}

// compareSpectrum draws the spectra of the runs at c clients.
func compareSpectrum(dir string, load bench.Config, c int, runs []*bench.CompareRun) error {
	var ops []*bench.OpReport
	names := map[*bench.OpReport]string{}
	for _, r := range runs {
		if r.Clients == c {
			m := r.MainOp()
			ops, names[m] = append(ops, m), r.Target
		}
	}
	title := fmt.Sprintf("%s, %d clients: latency by percentile", load.Describe(), c)
	p, ok := spectrum(title, ops, func(o *bench.OpReport) string { return names[o] })
	if !ok {
		return nil
	}
	return save(p, filepath.Join(dir, fmt.Sprintf("compare-latency-c%d.png", c)))
}

// bars saves a grouped bar chart: one group per category, one bar per
// series, of height value(series, category index).
func bars(path, title, ylabel string, cats, series []string, value func(s string, i int) float64) error {
	p := newPlot(title, "", ylabel)
	w := vg.Points(min(40, 360/float64(len(cats)*len(series))))
	for j, s := range series {
		vs := make(plotter.Values, len(cats))
		for i := range cats {
			vs[i] = value(s, i)
		}
		b, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return fmt.Errorf("plots: %s: %w", s, err)
		}
		b.Color, b.LineStyle.Width = plotutil.Color(j), vg.Points(0.5)
		b.Offset = w * (vg.Length(j) - vg.Length(len(series)-1)/2)
		p.Add(b)
		p.Legend.Add(s, b)
	}
	p.NominalX(cats...)
	slantLabels(p, len(cats))
	p.Y.Min = min(p.Y.Min, 0)
	p.Y.Max += 0.05 * (p.Y.Max - p.Y.Min) // the tallest bar clear of the frame
	return save(p, path)
}

// Failover writes the successful writes per second of each run over
// time to path.
func Failover(path string, cfg bench.FailoverConfig, runs []*bench.FailoverRun) error {
	var names []string
	for _, r := range runs {
		names = append(names, r.Target)
	}
	title := fmt.Sprintf("%s: one node killed at %v, restarted at %v", strings.Join(names, " and "), cfg.KillAt, cfg.RestartAt)
	p := newPlot(title, "time (s)", "successful writes per second")
	for i, r := range runs {
		xs, ok, _ := timelineSeries(r.Timeline)
		if err := addLine(p, i, r.Target, xs, ok); err != nil {
			return err
		}
	}
	p.Y.Min = 0
	return save(p, path)
}

// Staleness writes P(consistent read) against the delay after the
// acknowledgement, measured and (when there is one) predicted, to path.
func Staleness(path string, cs *bench.ClusterStaleness) error {
	p := newPlot(fmt.Sprintf("P(consistent read), %v", cs.Setting), "Δ after acknowledgement (ms)", "P(consistent)")
	var xs, ys []float64
	for _, pt := range cs.Measured.Points {
		xs, ys = append(xs, pt.DeltaMS), append(ys, pt.Consistent)
	}
	if err := addLine(p, 0, "measured", xs, ys); err != nil {
		return err
	}
	if len(cs.Predicted) > 0 {
		pxs, pys := predicted(cs.Predicted)
		if err := addLine(p, 1, "predicted (WARS)", pxs, pys); err != nil {
			return err
		}
	}
	p.Y.Min, p.Y.Max = 0, 1
	return save(p, path)
}

// predicted returns the delays (ms) and probabilities of a prediction.
func predicted(pts []bench.PredictedPoint) (xs, ys []float64) {
	for _, pt := range pts {
		xs, ys = append(xs, pt.DeltaMS), append(ys, pt.Consistent)
	}
	return xs, ys
}

// Span is an interval of a timeline drawn as a shaded band with a label:
// a fault, from Start to End seconds.
type Span struct {
	Label      string
	Start, End float64
}

// Series is one named line of a timeline.
type Series struct {
	Name string
	Ys   []float64
}

// Timeline writes rates over time (xs in seconds, one value per series
// per x) with spans shaded behind them and labelled above, to path: a
// fault test's operations per second with its faults.
func Timeline(path, title, ylabel string, xs []float64, series []Series, spans []Span) error {
	p := newPlot(title, "time (s)", ylabel)
	top := 1.0
	for _, s := range series {
		for _, y := range s.Ys {
			top = math.Max(top, y)
		}
	}
	for i, sp := range spans {
		band, err := plotter.NewPolygon(plotter.XYs{{X: sp.Start, Y: 0}, {X: sp.End, Y: 0}, {X: sp.End, Y: top * 1.08}, {X: sp.Start, Y: top * 1.08}})
		if err != nil {
			return fmt.Errorf("plots: span %s: %w", sp.Label, err)
		}
		band.Color = color.NRGBA{R: 230, G: 120, B: 60, A: 40 + uint8(20*(i%2))}
		band.LineStyle.Width = 0
		p.Add(band)
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: sp.Start, Y: top * (1.09 + 0.05*float64(i%2))}}, Labels: []string{sp.Label}})
		if err != nil {
			return fmt.Errorf("plots: span %s: %w", sp.Label, err)
		}
		for j := range labels.TextStyle {
			labels.TextStyle[j].Font = sans(8)
		}
		p.Add(labels)
	}
	for i, s := range series {
		if err := addLine(p, i, s.Name, xs, s.Ys); err != nil {
			return err
		}
	}
	p.Y.Min, p.Y.Max = 0, top*1.2
	return save(p, path)
}

// Points is one named set of points of a scatter plot.
type Points struct {
	Name   string
	Xs, Ys []float64
}

// Convergence writes, for each heal of a fault test, how long the keys
// written around the fault took to agree on their replicas after it (ys,
// in seconds, by when the fault healed, xs, in seconds), one point set
// per fault kind, with the limit the run judged by drawn across (none if
// limit is 0), to path. Heals that never converged are drawn at their
// wait's end, in their own set.
func Convergence(path, title string, sets []Points, limit float64) error {
	p := newPlot(title, "heal (s into the run)", "converged after heal (s)")
	top, right := 1.0, 1.0
	for _, s := range sets {
		for j := range s.Xs {
			top, right = math.Max(top, s.Ys[j]), math.Max(right, s.Xs[j])
		}
	}
	if limit > 0 {
		top = math.Max(top, limit*1.1)
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: limit}, {X: right, Y: limit}})
		if err != nil {
			return fmt.Errorf("plots: limit: %w", err)
		}
		l.LineStyle = draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(6), vg.Points(4)}}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("limit (%gs)", limit), l)
	}
	for i, s := range sets {
		sc, err := plotter.NewScatter(xys(s.Xs, s.Ys))
		if err != nil {
			return fmt.Errorf("plots: %s: %w", s.Name, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: plotutil.Color(i), Shape: plotutil.Shape(i), Radius: vg.Points(2.5)}
		p.Add(sc)
		p.Legend.Add(s.Name, sc)
	}
	p.X.Min, p.Y.Min, p.Y.Max = 0, 0, top*1.1
	p.X.Tick.Marker, p.Y.Tick.Marker = shortTicks{}, shortTicks{}
	return save(p, path)
}

// shortTicks are gonum's default ticks labelled without trailing zeros
// ("25", not "25.00").
type shortTicks struct{}

func (shortTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'g', -1, 64)
		}
	}
	return ts
}
