package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ParseSettings parses quorum settings written "N:R:W,N:R:W"; the empty
// string is no settings (QuorumExperiment then sweeps DefaultSettings).
func ParseSettings(s string) ([]Setting, error) {
	if s == "" {
		return nil, nil
	}
	var out []Setting
	for _, part := range strings.Split(s, ",") {
		f := strings.Split(strings.TrimSpace(part), ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("%q: want N:R:W", part)
		}
		var v [3]int
		for i, x := range f {
			n, err := strconv.Atoi(x)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%q: %q is not a positive number", part, x)
			}
			v[i] = n
		}
		out = append(out, Setting{N: v[0], R: v[1], W: v[2]})
	}
	return out, nil
}

// WriteQuorumTable writes the Markdown table of an experiment: one row
// per setting with its throughput, latencies, staleness measured and
// predicted, and availability under faults.
func WriteQuorumTable(w io.Writer, cfg ExperimentConfig, results []*SettingResult) error {
	cfg = cfg.withDefaults()
	var b strings.Builder
	fmt.Fprintf(&b, "Quorum experiment: %d nodes, %s writes, load %s with %d clients for %v; staleness after %d writes.\n\n",
		cfg.Nodes, map[bool]string{true: "durable", false: "not durable"}[cfg.Durable], cfg.Load.Describe(),
		cfg.Load.Clients, cfg.Load.Duration, cfg.Staleness.Writes)
	b.WriteString("| N | R | W | quorum | ops/s | get p50 / p99 | put p50 / p99 | P(consistent) Δ=0 measured / predicted | Δ=5ms measured / predicted | Δ=0: 1 / ≥2 versions behind, measured; predicted | one node down: sloppy / strict | 2\\|3 partition: sloppy / strict |\n")
	b.WriteString("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %d | %d | %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n", r.N, r.R, r.W, quorumKind(r.Strict),
			r.Load.TotalOpsPerSec(), latencyPair(r.Load.OpRow("get")), latencyPair(r.Load.OpRow("put")), consistentPair(r, 0),
			consistentPair(r, 5*time.Millisecond), behindAtZero(r), availPair(r, OneDown), availPair(r, Partition))
	}
	b.WriteString("\nP(consistent): share of reads through another node that returned the latest acknowledged write, Δ after its acknowledgement; predicted by the WARS model from the one-way delays the coordinators recorded. Versions behind: share of reads at Δ=0 that returned an older version. Availability: share of requests that succeeded (clients on every node, each at a fixed rate); sloppy lets fallbacks stand in for unreachable primaries, strict (PR=R, PW=W) does not.\n")
	return writeString(w, b.String())
}

func quorumKind(strict bool) string {
	if strict {
		return "strict"
	}
	return "partial"
}

// OpRow returns the row of operation kind op, nil if the run had none.
func (r *Report) OpRow(op string) *OpReport {
	for _, o := range r.Ops {
		if o.Op == op {
			return o
		}
	}
	return nil
}

func latencyPair(o *OpReport) string {
	if o == nil {
		return "-"
	}
	return fmtMS(o.P50MS) + " / " + fmtMS(o.P99MS)
}

func consistentPair(r *SettingResult, d time.Duration) string {
	m, p, ok := r.Consistent(d)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.4f / %.4f", m, p)
}

// behindAtZero returns the shares of reads at the first delta that were
// one, and two or more, versions behind: measured; predicted.
func behindAtZero(r *SettingResult) string {
	if len(r.Staleness.Points) == 0 || len(r.Predicted) == 0 {
		return "-"
	}
	m1, m2 := splitBehind(r.Staleness.Points[0].Behind)
	p1, p2 := splitBehind(r.Predicted[0].Behind)
	return fmt.Sprintf("%.4f / %.4f; %.4f / %.4f", m1, m2, p1, p2)
}

func availPair(r *SettingResult, f Fault) string {
	sloppy, strict := r.Availability(f, false), r.Availability(f, true)
	if sloppy == nil || strict == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f / %.3f", sloppy.Share(), strict.Share())
}
