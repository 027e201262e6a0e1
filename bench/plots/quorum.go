package plots

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/chorusdb/chorus/bench"
)

// Quorum writes a quorum experiment's plots into dir: staleness.png
// (P(consistent) by delay, measured and predicted, of the settings whose
// quorums do not overlap), tradeoff.png (get p99 against P(consistent)
// at Δ=0), availability.png (under each fault, sloppy and strict) and
// latency.png (get and put p50 and p99). A plot without data is skipped.
func Quorum(dir string, results []*bench.SettingResult) error {
	var errs []error
	if p, ok := quorumStaleness(results); ok {
		errs = append(errs, save(p, filepath.Join(dir, "staleness.png")))
	}
	if p, ok := quorumTradeoff(results); ok {
		errs = append(errs, save(p, filepath.Join(dir, "tradeoff.png")))
	}
	var names, available []string
	for _, r := range results {
		names = append(names, settingName(r))
		if len(r.Available) > 0 {
			available = append(available, settingName(r))
		}
	}
	if len(available) > 0 {
		errs = append(errs, bars(filepath.Join(dir, "availability.png"), "Availability under faults", "share of requests that succeeded",
			available, availabilitySeries, availability(results)))
	}
	errs = append(errs, bars(filepath.Join(dir, "latency.png"), "Latency by quorum setting", "ms", names, latencySeries, latency(results)))
	return errors.Join(errs...)
}

func settingName(r *bench.SettingResult) string { return fmt.Sprintf("N%d R%d W%d", r.N, r.R, r.W) }

// quorumStaleness plots measured and predicted curves of the partial
// (R+W <= N) settings; strict ones are consistent by construction.
func quorumStaleness(results []*bench.SettingResult) (*plot.Plot, bool) {
	p := newPlot("P(consistent read): measured and predicted (WARS)", "Δ after acknowledgement (ms)", "P(consistent)")
	n := 0
	for _, r := range results {
		if r.Strict || r.Staleness == nil {
			continue
		}
		var xs, ys []float64
		for _, pt := range r.Staleness.Points {
			xs, ys = append(xs, pt.DeltaMS), append(ys, pt.Consistent)
		}
		pxs, pys := predicted(r.Predicted)
		if addLine(p, n, settingName(r)+" measured", xs, ys) == nil && addLine(p, n+1, settingName(r)+" predicted", pxs, pys) == nil {
			n += 2
		}
	}
	p.Y.Min, p.Y.Max = 0, 1
	return p, n > 0
}

// quorumTradeoff plots each setting's get p99 against its P(consistent)
// at the first delta. Each setting has its own marker and legend entry:
// the marker's shape tells N, its colour the setting within that N.
func quorumTradeoff(results []*bench.SettingResult) (*plot.Plot, bool) {
	p := newPlot("Latency and consistency by quorum setting", "get p99 (ms)", "P(consistent) at Δ=0")
	groups := groupsByN(results)
	inGroup := map[int]int{}
	n := 0
	for _, r := range results {
		get := r.Load.OpRow("get")
		if get == nil || r.Staleness == nil || len(r.Staleness.Points) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(plotter.XYs{{X: get.P99MS, Y: r.Staleness.Points[0].Consistent}})
		if err != nil {
			continue
		}
		sc.GlyphStyle = markerStyle(groups[r.N], inGroup[r.N], len(groups))
		inGroup[r.N]++
		p.Add(sc)
		p.Legend.Add(settingName(r), sc)
		n++
	}
	return p, n > 0
}

// groupsByN numbers the distinct N of results in order of appearance.
func groupsByN(results []*bench.SettingResult) map[int]int {
	groups := map[int]int{}
	for _, r := range results {
		if _, ok := groups[r.N]; !ok {
			groups[r.N] = len(groups)
		}
	}
	return groups
}

// markerStyle is the marker of the j-th setting of group g of groups:
// shape g and colour j; past the 7 colours, the colours repeat with a
// shape that no group uses (distinct while groups*(1+j/7) <= 7 shapes).
func markerStyle(g, j, groups int) draw.GlyphStyle {
	return draw.GlyphStyle{Color: plotutil.Color(j), Radius: vg.Points(4), Shape: plotutil.Shape(g + groups*(j/7))}
}

// availabilitySeries are the bars of availability.png.
var availabilitySeries = []string{"one down, sloppy", "one down, strict", "2|3, sloppy", "2|3, strict"}

// availability returns the bar heights of availability.png: the share
// of requests that succeeded, by series and setting (among those with
// availability measurements).
func availability(results []*bench.SettingResult) func(s string, i int) float64 {
	var measured []*bench.SettingResult
	for _, r := range results {
		if len(r.Available) > 0 {
			measured = append(measured, r)
		}
	}
	faults := map[string]struct {
		f      bench.Fault
		strict bool
	}{availabilitySeries[0]: {bench.OneDown, false}, availabilitySeries[1]: {bench.OneDown, true},
		availabilitySeries[2]: {bench.Partition, false}, availabilitySeries[3]: {bench.Partition, true}}
	return func(s string, i int) float64 {
		f := faults[s]
		return measured[i].Availability(f.f, f.strict).Share()
	}
}

// latencySeries are the bars of latency.png.
var latencySeries = []string{"get p50", "get p99", "put p50", "put p99"}

// latency returns the bar heights of latency.png in ms, 0 for an
// operation the setting's load did not run.
func latency(results []*bench.SettingResult) func(s string, i int) float64 {
	return func(s string, i int) float64 {
		op, pct, _ := strings.Cut(s, " ")
		o := results[i].Load.OpRow(op)
		switch {
		case o == nil:
			return 0
		case pct == "p99":
			return o.P99MS
		}
		return o.P50MS
	}
}
