package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes res as a plain-text table, one row per operation kind
// (the preload, when there was one, first): op, ops, ops/s, p50, p90, p99,
// p99.9, max and errors, then one line per error kind.
func WriteTable(w io.Writer, res *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tops\tops/s\tp50\tp90\tp99\tp99.9\tmax\terrors\t")
	rows := res.Ops
	if res.Preload != nil {
		p := *res.Preload
		p.Op = "preload"
		rows = append([]*OpStats{&p}, rows...)
	}
	for _, s := range rows {
		h := &s.Latency
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%d\t\n", s.Op, s.Count, s.OpsPerSec,
			fmtDuration(h.Quantile(0.5)), fmtDuration(h.Quantile(0.9)), fmtDuration(h.Quantile(0.99)),
			fmtDuration(h.Quantile(0.999)), fmtDuration(h.Max()), s.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for _, s := range rows {
		if s.Misses > 0 {
			fmt.Fprintf(&b, "%s: %d misses (not found)\n", s.Op, s.Misses)
		}
		for _, k := range slices.Sorted(maps.Keys(s.ErrorKinds)) {
			fmt.Fprintf(&b, "%s: %d errors: %s\n", s.Op, s.ErrorKinds[k], k)
		}
	}
	fmt.Fprintf(&b, "elapsed %s, %d clients, seed %d\n", res.Elapsed.Round(time.Millisecond), res.Config.Clients, res.Config.Seed)
	if len(res.Timeline) > 0 {
		stall, at := res.LongestStall()
		fmt.Fprintf(&b, "longest stretch without a successful operation: %v (from %v), in steps of %v\n", stall, at, TimelineStep)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Report is the JSON form of a Result; durations are in microseconds.
type Report struct {
	Op        string      `json:"op"`
	Clients   int         `json:"clients"`
	Keys      int         `json:"keys"`
	ValueSize int         `json:"value_size"`
	ReadRatio float64     `json:"read_ratio,omitempty"`
	Seed      int64       `json:"seed"`
	ElapsedUS float64     `json:"elapsed_us"`
	Preload   *OpReport   `json:"preload,omitempty"`
	Ops       []*OpReport `json:"ops"`
	// LongestStallMS is the longest stretch of 100 ms steps without a
	// successful operation; TimelineOK and TimelineFailed count the
	// operations completed in each step (duration-bounded runs only).
	LongestStallMS float64 `json:"longest_stall_ms"`
	TimelineOK     []int64 `json:"timeline_ok,omitempty"`
	TimelineFailed []int64 `json:"timeline_failed,omitempty"`
}

// OpReport is the JSON form of OpStats; latencies are in microseconds.
type OpReport struct {
	Op         string           `json:"op"`
	Count      int64            `json:"count"`
	OpsPerSec  float64          `json:"ops_per_sec"`
	Misses     int64            `json:"misses"`
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	MeanUS     float64          `json:"mean_us"`
	P50US      float64          `json:"p50_us"`
	P90US      float64          `json:"p90_us"`
	P99US      float64          `json:"p99_us"`
	P999US     float64          `json:"p999_us"`
	MaxUS      float64          `json:"max_us"`
}

// NewReport returns the JSON form of res.
func NewReport(res *Result) *Report {
	c := res.Config
	r := &Report{Op: string(c.Op), Clients: c.Clients, Keys: c.Keys, ValueSize: c.ValueSize,
		Seed: c.Seed, ElapsedUS: us(res.Elapsed), Ops: []*OpReport{}}
	if c.Op == OpMixed {
		r.ReadRatio = c.ReadRatio
	}
	if res.Preload != nil {
		r.Preload = opReport(res.Preload)
	}
	for _, s := range res.Ops {
		r.Ops = append(r.Ops, opReport(s))
	}
	stall, _ := res.LongestStall()
	r.LongestStallMS = float64(stall) / float64(time.Millisecond)
	for _, st := range res.Timeline {
		r.TimelineOK = append(r.TimelineOK, st.OK)
		r.TimelineFailed = append(r.TimelineFailed, st.Failed)
	}
	return r
}

func opReport(s *OpStats) *OpReport {
	h := &s.Latency
	return &OpReport{Op: s.Op, Count: s.Count, OpsPerSec: s.OpsPerSec, Misses: s.Misses,
		Errors: s.Errors, ErrorKinds: s.ErrorKinds, MeanUS: us(h.Mean()),
		P50US: us(h.Quantile(0.5)), P90US: us(h.Quantile(0.9)), P99US: us(h.Quantile(0.99)),
		P999US: us(h.Quantile(0.999)), MaxUS: us(h.Max())}
}

// WriteJSON writes the Report of res as indented JSON.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewReport(res))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// fmtDuration prints d with three significant digits in a fitting unit
// (842µs, 1.23ms, 12.3s).
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d)
	case d < time.Millisecond:
		return sig3(us(d), "µs")
	case d < time.Second:
		return sig3(float64(d)/float64(time.Millisecond), "ms")
	default:
		return sig3(d.Seconds(), "s")
	}
}

func sig3(v float64, unit string) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f%s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f%s", v, unit)
	default:
		return fmt.Sprintf("%.2f%s", v, unit)
	}
}
