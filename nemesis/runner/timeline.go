package runner

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/chorusdb/chorus/bench/plots"
	"github.com/chorusdb/chorus/nemesis"
	"github.com/chorusdb/chorus/nemesis/inject"
)

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
// to Dir/timeline.png.
func (r *run) writeTimeline(events []inject.Event) (string, error) {
	path := filepath.Join(r.cfg.Dir, "timeline.png")
	xs, series := timelineSeries(r.ops, r.cfg.Duration)
	var spans []plots.Span
	for _, ev := range events {
		label := string(ev.Kind)
		if ev.Variant != "" {
			label += "/" + ev.Variant
		}
		if len(ev.Nodes) > 0 {
			label += fmt.Sprint(" ", ev.Nodes)
		}
		spans = append(spans, plots.Span{Label: label, Start: ev.Started.Seconds(), End: ev.Healed.Seconds()})
	}
	title := fmt.Sprintf("chorus nemesis, seed %d: %d nodes, N=%d R=%d W=%d", r.cfg.Seed, r.cfg.Nodes, r.cfg.N, r.cfg.R, r.cfg.W)
	return path, plots.Timeline(path, title, "operations per second", xs, series, spans)
}
