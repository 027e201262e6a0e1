package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/chart"
)

// plotRun writes prefix-throughput.png (successful and failed operations
// per second, in 100 ms steps; runs bounded by --duration only) and
// prefix-latency.png (the latency spectrum of each operation kind), and
// returns the files written.
func plotRun(prefix, target string, res *bench.Result) ([]string, error) {
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return nil, err
	}
	var files []string
	if len(res.Timeline) > 0 {
		ok, failed := timelineSeries(res.Timeline)
		series := []chart.Series{ok}
		if len(failed.X) > 0 {
			series = append(series, failed)
		}
		file := prefix + "-throughput.png"
		zero := 0.0
		l := chart.Lines{Title: target + ": " + res.Config.Describe() + ", throughput over time",
			XLabel: "time (s)", YLabel: "operations per second", Series: series, YMin: &zero}
		if err := l.Save(file); err != nil {
			return files, err
		}
		files = append(files, file)
	}
	var spectra []chart.Quantiles
	for _, s := range res.Ops {
		if q, ok := spectrum(s.Op, &s.Latency); ok {
			spectra = append(spectra, q)
		}
	}
	if len(spectra) > 0 {
		file := prefix + "-latency.png"
		sp := chart.Spectrum{Title: target + ": " + res.Config.Describe() + ", latency by percentile", Series: spectra}
		if err := sp.Save(file); err != nil {
			return files, err
		}
		files = append(files, file)
	}
	return files, nil
}

// timelineSeries turns a run's timeline into ops/s series of successes
// and failures (the latter empty when nothing failed).
func timelineSeries(tl []bench.Step) (ok, failed chart.Series) {
	ok.Name, failed.Name = "succeeded", "failed"
	perSec := float64(time.Second) / float64(bench.TimelineStep)
	anyFailed := false
	for i, st := range tl {
		x := (float64(i) + 0.5) * bench.TimelineStep.Seconds()
		ok.X, ok.Y = append(ok.X, x), append(ok.Y, float64(st.OK)*perSec)
		failed.X, failed.Y = append(failed.X, x), append(failed.Y, float64(st.Failed)*perSec)
		anyFailed = anyFailed || st.Failed > 0
	}
	if !anyFailed {
		failed.X, failed.Y = nil, nil
	}
	return ok, failed
}

// spectrum returns h's latencies at bench.SpectrumQuantiles, named name;
// false when h is empty.
func spectrum(name string, h *bench.Histogram) (chart.Quantiles, bool) {
	if h.Count() == 0 {
		return chart.Quantiles{}, false
	}
	q := chart.Quantiles{Name: name}
	for _, p := range bench.SpectrumQuantiles {
		q.Q = append(q.Q, p)
		q.Latency = append(q.Latency, h.Quantile(p))
	}
	return q, true
}
