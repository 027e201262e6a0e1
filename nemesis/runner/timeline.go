package runner

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/chorusdb/chorus/bench/plots"
	"github.com/chorusdb/chorus/nemesis"
)

// maxSpanLabels is the most faults the timeline names; past it the
// labels would overlap into a smear, and the shading alone is drawn.
const maxSpanLabels = 12

// timelineStep is the width of the timeline's buckets.
const timelineStep = 500 * time.Millisecond

// timelineSeries buckets ops by completion into rates per second:
// acknowledged writes, acknowledged reads, and failed or indeterminate
// operations.
func timelineSeries(ops []nemesis.Op, end time.Duration) (xs []float64, series []plots.Series) {
	n := int(end/timelineStep) + 1
	writes, reads, bad := make([]float64, n), make([]float64, n), make([]float64, n)
	per := float64(time.Second) / float64(timelineStep)
	for _, op := range ops {
		i := int(time.Duration(op.Complete) / timelineStep)
		if i < 0 || i >= n {
			continue
		}
		switch {
		case op.Outcome != nemesis.OK:
			bad[i] += per
		case op.Kind == nemesis.Get:
			reads[i] += per
		default:
			writes[i] += per
		}
	}
	for i := range n {
		xs = append(xs, (time.Duration(i)*timelineStep + timelineStep/2).Seconds())
	}
	return xs, []plots.Series{{Name: "writes ok", Ys: writes}, {Name: "reads ok", Ys: reads}, {Name: "failed or unknown", Ys: bad}}
}

// writeTimeline draws the operations per second with the faults shaded,
// to Dir/timeline.png, and, for a run of cycles, each heal's convergence
// to Dir/convergence.png (its path, or "").
func (r *run) writeTimeline(h *nemesis.History) (string, string, error) {
	path := filepath.Join(r.cfg.Dir, "timeline.png")
	title := fmt.Sprintf("chorus nemesis, seed %d: %d nodes, N=%d R=%d W=%d", r.cfg.Seed, r.cfg.Nodes, r.cfg.N, r.cfg.R, r.cfg.W)
	if err := DrawTimeline(path, title, h, r.cfg.Duration); err != nil {
		return "", "", err
	}
	conv := filepath.Join(r.cfg.Dir, "convergence.png")
	ctitle := fmt.Sprintf("chorus nemesis, seed %d: N=%d R=%d W=%d, each heal's convergence", r.cfg.Seed, r.cfg.N, r.cfg.R, r.cfg.W)
	drawn, err := DrawConvergence(conv, ctitle, h, r.cfg.Check.MaxConverge)
	if !drawn {
		conv = ""
	}
	return path, conv, err
}

// DrawTimeline draws h's operations per second, from the start to the
// last operation (at least d), with its faults shaded and, when they are
// few enough to read, named; to path, as PNG.
func DrawTimeline(path, title string, h *nemesis.History, d time.Duration) error {
	xs, series := timelineSeries(h.Ops, timelineEnd(h.Ops, d))
	var spans []plots.Span
	for _, f := range h.Faults {
		label := ""
		if len(h.Faults) <= maxSpanLabels {
			label = string(f.Kind)
			if f.Note != "" {
				label += "/" + f.Note
			}
			if len(f.Nodes) > 0 {
				label += fmt.Sprint(" ", f.Nodes)
			}
		}
		spans = append(spans, plots.Span{Label: label, Start: time.Duration(f.Start).Seconds(), End: time.Duration(f.End).Seconds()})
	}
	if len(h.Faults) > maxSpanLabels {
		title += fmt.Sprintf(", %d faults shaded", len(h.Faults))
	}
	return plots.Timeline(path, title, "operations per second", xs, series, spans)
}

// timelineEnd is where the timeline ends: Duration, or the last
// operation's completion if later (a run of cycles lasts as long as its
// faults take, whatever Duration says).
func timelineEnd(ops []nemesis.Op, d time.Duration) time.Duration {
	for _, op := range ops {
		d = max(d, time.Duration(op.Complete))
	}
	return d
}

// DrawConvergence draws, for each probed heal of h, how long the keys
// written around its fault took to agree after it, by fault kind, with
// limit (the run's --max-converge; 0 for none) drawn across; to path, as
// PNG. It reports false, drawing nothing, when no heal was probed (a
// timed run, not one of cycles).
func DrawConvergence(path, title string, h *nemesis.History, limit time.Duration) (bool, error) {
	byKind := map[nemesis.FaultKind]*plots.Points{}
	var kinds []nemesis.FaultKind
	slow := plots.Points{Name: "not converged"}
	for _, f := range h.Faults {
		if f.Converge == nil {
			continue
		}
		x, y := time.Duration(f.End).Seconds(), time.Duration(f.Converge.Nanos).Seconds()
		if !f.Converge.Converged {
			slow.Xs, slow.Ys = append(slow.Xs, x), append(slow.Ys, y)
			continue
		}
		pts := byKind[f.Kind]
		if pts == nil {
			pts = &plots.Points{Name: string(f.Kind)}
			byKind[f.Kind] = pts
			kinds = append(kinds, f.Kind)
		}
		pts.Xs, pts.Ys = append(pts.Xs, x), append(pts.Ys, y)
	}
	var sets []plots.Points
	for _, k := range kinds {
		sets = append(sets, *byKind[k])
	}
	if len(slow.Xs) > 0 {
		sets = append(sets, slow)
	}
	if len(sets) == 0 {
		return false, nil
	}
	return true, plots.Convergence(path, title, sets, limit.Seconds())
}
