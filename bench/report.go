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
	c := res.Config
	fmt.Fprintf(&b, "mix %s: %s\n", c.Op, c.describe())
	if c.Rate > 0 {
		fmt.Fprintf(&b, "open loop at %.0f ops/s (latency from each operation's scheduled start)\n", c.Rate)
		for _, s := range res.Ops {
			fmt.Fprintf(&b, "%s: service time (from send) p50 %s, p99 %s, p99.9 %s\n", s.Op, fmtDuration(s.Service.Quantile(0.5)),
				fmtDuration(s.Service.Quantile(0.99)), fmtDuration(s.Service.Quantile(0.999)))
		}
	}
	fmt.Fprintf(&b, "elapsed %s, %d clients, seed %d\n", res.Elapsed.Round(time.Millisecond), c.Clients, c.Seed)
	if len(res.Timeline) > 0 {
		stall, at := res.LongestStall()
		fmt.Fprintf(&b, "longest stretch without a successful operation: %v (from %v), in steps of %v\n", stall, at, TimelineStep)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Report is the JSON form of a Result; durations are in milliseconds (fractional).
type Report struct {
	Op           string  `json:"op"`
	Mix          string  `json:"mix"`
	Distribution string  `json:"distribution"`
	Theta        float64 `json:"theta,omitempty"`
	Clients      int     `json:"clients"`
	// Rate is the open loop's target in operations per second; zero for
	// a closed loop.
	Rate         float64     `json:"rate,omitempty"`
	Keys         int         `json:"keys"`
	ValueSize    int         `json:"value_size"`
	ValueSizeMax int         `json:"value_size_max"`
	ReadRatio    float64     `json:"read_ratio,omitempty"`
	Seed         int64       `json:"seed"`
	ElapsedMS    float64     `json:"elapsed_ms"`
	Preload      *OpReport   `json:"preload,omitempty"`
	Ops          []*OpReport `json:"ops"`
	// LongestStallMS is the longest stretch of 100 ms steps without a
	// successful operation; TimelineOK and TimelineFailed count the
	// operations completed in each step (duration-bounded runs only).
	LongestStallMS float64 `json:"longest_stall_ms"`
	TimelineOK     []int64 `json:"timeline_ok,omitempty"`
	TimelineFailed []int64 `json:"timeline_failed,omitempty"`
}

// OpReport is the JSON form of OpStats; latencies are in milliseconds (fractional).
type OpReport struct {
	Op         string           `json:"op"`
	Count      int64            `json:"count"`
	OpsPerSec  float64          `json:"ops_per_sec"`
	Misses     int64            `json:"misses"`
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	MeanMS     float64          `json:"mean_ms"`
	P50MS      float64          `json:"p50_ms"`
	P90MS      float64          `json:"p90_ms"`
	P99MS      float64          `json:"p99_ms"`
	P999MS     float64          `json:"p999_ms"`
	MaxMS      float64          `json:"max_ms"`
	// Spectrum is the latency at SpectrumQuantiles, for plots.
	Spectrum []QuantileMS `json:"spectrum,omitempty"`
	// Service is, for an open-loop run, the latency from each operation's
	// send rather than its scheduled start.
	Service *ServiceReport `json:"service,omitempty"`
}

// QuantileMS is one point of a latency spectrum.
type QuantileMS struct {
	Q  float64 `json:"q"`
	MS float64 `json:"latency_ms"`
}

// ServiceReport holds the service-time percentiles of an open-loop run.
type ServiceReport struct {
	P50MS  float64 `json:"p50_ms"`
	P99MS  float64 `json:"p99_ms"`
	P999MS float64 `json:"p999_ms"`
	MaxMS  float64 `json:"max_ms"`
}

// SpectrumQuantiles are the quantiles of OpReport.Spectrum: dense enough
// for a percentile plot out to 99.99%.
var SpectrumQuantiles = []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95,
	0.965, 0.975, 0.99, 0.9925, 0.995, 0.9965, 0.9975, 0.999, 0.99925, 0.9995, 0.99965, 0.99975, 0.9999}

// TotalOpsPerSec returns the operations per second of every kind
// together.
func (r *Report) TotalOpsPerSec() float64 {
	var sum float64
	for _, o := range r.Ops {
		sum += o.OpsPerSec
	}
	return sum
}

// NewReport returns the JSON form of res.
func NewReport(res *Result) *Report {
	c := res.Config
	r := &Report{Op: string(c.Op), Mix: c.describe(), Distribution: string(c.Distribution), Clients: c.Clients,
		Rate: c.Rate, Keys: c.Keys, ValueSize: c.ValueSize, ValueSizeMax: c.ValueSizeMax,
		Seed: c.Seed, ElapsedMS: ms(res.Elapsed), Ops: []*OpReport{}}
	if c.Distribution != Uniform {
		r.Theta = c.Theta
	}
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
	r.LongestStallMS = ms(stall)
	for _, st := range res.Timeline {
		r.TimelineOK = append(r.TimelineOK, st.OK)
		r.TimelineFailed = append(r.TimelineFailed, st.Failed)
	}
	return r
}

func opReport(s *OpStats) *OpReport {
	h := &s.Latency
	o := &OpReport{Op: s.Op, Count: s.Count, OpsPerSec: s.OpsPerSec, Misses: s.Misses,
		Errors: s.Errors, ErrorKinds: s.ErrorKinds, MeanMS: ms(h.Mean()),
		P50MS: ms(h.Quantile(0.5)), P90MS: ms(h.Quantile(0.9)), P99MS: ms(h.Quantile(0.99)),
		P999MS: ms(h.Quantile(0.999)), MaxMS: ms(h.Max())}
	if h.Count() > 0 {
		for _, q := range SpectrumQuantiles {
			o.Spectrum = append(o.Spectrum, QuantileMS{Q: q, MS: ms(h.Quantile(q))})
		}
	}
	if sv := &s.Service; sv.Count() > 0 {
		o.Service = &ServiceReport{P50MS: ms(sv.Quantile(0.5)), P99MS: ms(sv.Quantile(0.99)),
			P999MS: ms(sv.Quantile(0.999)), MaxMS: ms(sv.Max())}
	}
	return o
}

// WriteJSON writes the Report of res as indented JSON.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewReport(res))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// ms is d in (fractional) milliseconds: the JSON reports' unit, as
// everywhere in Chorus's JSON (docs/api.md).
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

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
