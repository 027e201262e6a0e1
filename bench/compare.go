package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// CompareBaseline is the target that Compare's ratios are relative to.
const CompareBaseline = "etcd"

// NamedTarget is a Target with the name a comparison reports it under.
type NamedTarget struct {
	Name   string
	Target Target
	// PIDs, when set, lists the target's server processes (the nodes of
	// the cluster it drives): each run then reports the CPU time they
	// used and their peak resident set, read from /proc (Linux only).
	PIDs func() []int
}

// CompareRun is one measured run of a comparison.
type CompareRun struct {
	// Target is the name of the target, e.g. "chorus", "chorus-nosync"
	// or "etcd".
	Target  string  `json:"target"`
	Clients int     `json:"clients"`
	Report  *Report `json:"report"`
	// ServerCPUMS is the CPU time (user and kernel) the target's server
	// processes used during the measured window (not the preload or the
	// warm-up), summed over them, in milliseconds; CPUUSPerOp is that per
	// operation answered, in microseconds. Nil when not measured: no
	// PIDs, no /proc, or (CPUUSPerOp) no operation answered.
	ServerCPUMS *float64 `json:"server_cpu_ms"`
	CPUUSPerOp  *float64 `json:"cpu_us_per_op"`
	// NodePeakRSSMiB is the peak resident set (VmHWM) of each server
	// process after the run, since it started, in MiB, and PeakRSSMiB
	// the largest of them. Nil when not measured.
	NodePeakRSSMiB []float64 `json:"node_peak_rss_mib"`
	PeakRSSMiB     *float64  `json:"peak_rss_mib"`
}

// Compare runs load at each client count against each target in turn
// (client counts outer), and returns the runs in that order. load must
// be valid; its Clients is replaced by each count. For a target with
// PIDs, each run also reports its server processes' CPU time and peak
// resident set; when they cannot be read, the run says why on
// load.Progress and reports them as not measured.
func Compare(ctx context.Context, load Config, clients []int, targets []NamedTarget) ([]*CompareRun, error) {
	if len(clients) == 0 {
		return nil, fmt.Errorf("%w: no client counts", ErrInvalidConfig)
	}
	progress := load.Progress
	if progress == nil {
		progress = io.Discard
	}
	var runs []*CompareRun
	for _, c := range clients {
		for _, t := range targets {
			cfg := load
			cfg.Clients = c
			fmt.Fprintf(progress, "compare: %s, %d clients\n", t.Name, c)
			r, err := runMetered(ctx, cfg, t, progress)
			if err != nil {
				return runs, fmt.Errorf("bench: compare: %s with %d clients: %w", t.Name, c, err)
			}
			runs = append(runs, r)
		}
	}
	return runs, nil
}

// MainOp returns the row a comparison ranks a run by: the first
// operation kind of its mix (put for a write-only run, get for a read
// run, and so on); an empty row when the run has none.
func (r *CompareRun) MainOp() *OpReport {
	if len(r.Report.Ops) == 0 {
		return &OpReport{}
	}
	return r.Report.Ops[0]
}

// Errors returns the failed operations of every kind.
func (r *CompareRun) Errors() int64 {
	var n int64
	for _, o := range r.Report.Ops {
		n += o.Errors
	}
	return n
}

// Ratios returns r's throughput (every kind together) and the p99 of
// its main operation relative to base's. A base without throughput or
// latency counts as a tiny positive one, so the ratios stay finite.
func (r *CompareRun) Ratios(base *CompareRun) (ops, p99 float64) {
	ops = r.Report.TotalOpsPerSec() / max(base.Report.TotalOpsPerSec(), 1e-9)
	p99 = r.MainOp().P99MS / max(base.MainOp().P99MS, 1e-6)
	return ops, p99
}

// Baselines returns the CompareBaseline run of each client count.
func Baselines(runs []*CompareRun) map[int]*CompareRun {
	base := map[int]*CompareRun{}
	for _, r := range runs {
		if r.Target == CompareBaseline {
			base[r.Clients] = r
		}
	}
	return base
}

// WriteCompareTable writes one row per run: throughput, the latencies
// of its main operation, errors, the servers' CPU per operation and
// largest peak RSS ("n/a" when not measured), and the ratios of each run
// to the CompareBaseline run at the same client count.
func WriteCompareTable(w io.Writer, runs []*CompareRun) error {
	base := Baselines(runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tclients\tops/s\tp50\tp99\tp99.9\terrors\tcpu/op\tpeak RSS\tops/s vs etcd\tp99 vs etcd\t")
	for _, r := range runs {
		opsRatio, p99Ratio := "", ""
		if b := base[r.Clients]; b != nil && b != r {
			o, p := r.Ratios(b)
			opsRatio, p99Ratio = fmt.Sprintf("%.2f×", o), fmt.Sprintf("%.2f×", p)
		}
		m := r.MainOp()
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", r.Target, r.Clients, r.Report.TotalOpsPerSec(),
			fmtMS(m.P50MS), fmtMS(m.P99MS), fmtMS(m.P999MS), r.Errors(), orNA(r.CPUUSPerOp, fmtUS), orNA(r.PeakRSSMiB, fmtMiB),
			opsRatio, p99Ratio)
	}
	return errors.Join(tw.Flush(), writeString(w, "\nops/s counts every operation of the mix; the latencies are those of its first kind.\n"+
		"cpu/op is the CPU time the servers used during the run, summed over the nodes, per operation answered;\n"+
		"peak RSS is the largest node's peak resident set after the run (n/a: not measured, no /proc).\n"+
		"A ratio above 1 means more ops/s, or a longer p99, than etcd.\n"))
}

// orNA formats *v with f, or says "n/a" when v is nil.
func orNA(v *float64, f func(float64) string) string {
	if v == nil {
		return "n/a"
	}
	return f(*v)
}

func fmtUS(us float64) string { return fmtDuration(time.Duration(us * float64(time.Microsecond))) }

func fmtMiB(m float64) string { return fmt.Sprintf("%.0fMiB", m) }

// CompareTitle describes the workload of a comparison in one line.
func CompareTitle(load Config) string {
	size := fmt.Sprint(load.ValueSize)
	if load.ValueSizeMax > load.ValueSize {
		size += fmt.Sprintf("-%d", load.ValueSizeMax)
	}
	return fmt.Sprintf("%s, %d keys, %s-byte values, %v per run", load.Describe(), load.Keys, size, load.Duration)
}

// fmtMS prints a latency given in milliseconds, as fmtDuration does.
func fmtMS(ms float64) string { return fmtDuration(time.Duration(ms * float64(time.Millisecond))) }

func writeString(w io.Writer, s string) error {
	_, err := io.WriteString(w, s)
	return err
}

// Comparison is the whole report of a comparison, as chorus bench
// compare writes it in JSON.
type Comparison struct {
	// Workload describes the load (Config.Describe).
	Workload string `json:"workload"`
	// ChorusQuorum is the quorum of the Chorus runs' requests, as
	// "N=3 R=2 W=2" ("default" for the server's own).
	ChorusQuorum string `json:"chorus_quorum"`
	// EtcdReads is how etcd's gets read: "linearizable" (through the
	// leader, as a quorum read) or "serializable" (any member's copy).
	EtcdReads string `json:"etcd_reads"`
	// Idle is each cluster's idle cost, measured after it started and
	// before its first run; empty when not measured.
	Idle []*IdleCost   `json:"idle"`
	Runs []*CompareRun `json:"runs"`
}

// WriteComparison writes c's table (WriteCompareTable), then a line on
// the read modes and one on the idle costs.
func WriteComparison(w io.Writer, c *Comparison) error {
	if err := WriteCompareTable(w, c.Runs); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Chorus requests use %s; etcd reads are %s.\n", c.ChorusQuorum, c.EtcdReads)
	if len(c.Idle) > 0 {
		var parts []string
		for _, ic := range c.Idle {
			parts = append(parts, fmt.Sprintf("%s %s", ic.System, orNA(ic.Millicores, fmtMillicores)))
		}
		fmt.Fprintf(&b, "Idle, before the load (%s, no requests): %s.\n", fmtMS(c.Idle[0].WindowMS), strings.Join(parts, ", "))
	}
	return writeString(w, b.String())
}

func fmtMillicores(m float64) string { return fmt.Sprintf("%.0f millicores", m) }
