package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/chorusdb/chorus/bench/procstat"
)

// runMetered runs cfg against t and, when t has PIDs and the system has
// /proc, reads its server processes' CPU time as the measured window
// opens and as it closes, and their peak resident sets after the run.
func runMetered(ctx context.Context, cfg Config, t NamedTarget, progress io.Writer) (*CompareRun, error) {
	var pids []int
	var before, after time.Duration
	var errBefore, errAfter error
	var edges windowEdges
	if t.PIDs != nil && procstat.Supported() {
		pids = t.PIDs()
		edges.open = func() { before, errBefore = procstat.CPU(pids) }
		edges.close = func() { after, errAfter = procstat.CPU(pids) }
	}
	res, err := run(ctx, t.Target, cfg, edges)
	if err != nil {
		return nil, err
	}
	r := &CompareRun{Target: t.Name, Clients: cfg.Clients, Report: NewReport(res)}
	if edges.open == nil {
		return r, nil
	}
	peaks, errPeaks := procstat.PeakRSS(pids)
	if err := errors.Join(errBefore, errAfter, errPeaks); err != nil {
		fmt.Fprintf(progress, "compare: %s: server CPU and memory not measured: %v\n", t.Name, err)
		return r, nil
	}
	r.setUsage(after-before, peaks)
	return r, nil
}

// setUsage sets the resource fields from the CPU time the servers used
// during the measured window and their peak resident sets in bytes.
func (r *CompareRun) setUsage(cpu time.Duration, peaks []int64) {
	r.ServerCPUMS = ptr(ms(cpu))
	if n := r.Answered(); n > 0 {
		r.CPUUSPerOp = ptr(us(cpu) / float64(n))
	}
	if len(peaks) == 0 {
		return
	}
	r.NodePeakRSSMiB = make([]float64, len(peaks))
	for i, p := range peaks {
		r.NodePeakRSSMiB[i] = float64(p) / mib
	}
	r.PeakRSSMiB = ptr(slices.Max(r.NodePeakRSSMiB))
}

const mib = 1 << 20

func ptr[T any](v T) *T { return &v }

// Answered returns the measured operations of every kind that got an
// answer (successes, misses and errors).
func (r *CompareRun) Answered() int64 {
	var n int64
	for _, o := range r.Report.Ops {
		n += o.Count
	}
	return n
}

// IdleCost is the CPU a cluster's server processes used while it served
// nothing.
type IdleCost struct {
	// System names the cluster: "chorus", "chorus-tls", "etcd".
	System string `json:"system"`
	// WindowMS is how long the CPU was measured, in milliseconds.
	WindowMS float64 `json:"window_ms"`
	// Millicores is the CPU time the processes used over the window,
	// summed, per second of it, in thousandths of a core; nil when not
	// measured (no /proc).
	Millicores *float64 `json:"idle_millicores"`
}

// MeasureIdle reads the CPU time of the processes pids, waits d (sending
// them nothing), and reads it again: their idle cost. Without /proc it
// returns at once with Millicores nil. It fails when a process cannot be
// read, or when ctx ends first.
func MeasureIdle(ctx context.Context, system string, pids []int, d time.Duration) (*IdleCost, error) {
	c := &IdleCost{System: system, WindowMS: ms(d)}
	if !procstat.Supported() {
		return c, nil
	}
	before, err := procstat.CPU(pids)
	if err != nil {
		return nil, fmt.Errorf("bench: idle cost of %s: %w", system, err)
	}
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
	}
	after, err := procstat.CPU(pids)
	if err != nil {
		return nil, fmt.Errorf("bench: idle cost of %s: %w", system, err)
	}
	// The window that counts is the one between the two reads, which
	// the timer may have stretched.
	window := time.Since(start)
	c.WindowMS, c.Millicores = ms(window), ptr(millicores(after-before, window))
	return c, nil
}

// millicores is cpu spread over window, in thousandths of a core.
func millicores(cpu, window time.Duration) float64 {
	if window <= 0 {
		return 0
	}
	return 1000 * cpu.Seconds() / window.Seconds()
}
