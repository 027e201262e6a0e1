package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// CompareBaseline is the target that Compare's ratios are relative to.
const CompareBaseline = "etcd"

// NamedTarget is a Target with the name a comparison reports it under.
type NamedTarget struct {
	Name   string
	Target Target
}

// CompareRun is one measured run of a comparison.
type CompareRun struct {
	// Target is the name of the target, e.g. "chorus", "chorus-nosync"
	// or "etcd".
	Target  string  `json:"target"`
	Clients int     `json:"clients"`
	Report  *Report `json:"report"`
}

// Compare runs load at each client count against each target in turn
// (client counts outer), and returns the runs in that order. load must
// be valid; its Clients is replaced by each count.
func Compare(ctx context.Context, load Config, clients []int, targets []NamedTarget) ([]*CompareRun, error) {
	if len(clients) == 0 {
		return nil, fmt.Errorf("%w: no client counts", ErrInvalidConfig)
	}
	var runs []*CompareRun
	for _, c := range clients {
		for _, t := range targets {
			cfg := load
			cfg.Clients = c
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "compare: %s, %d clients\n", t.Name, c)
			}
			res, err := Run(ctx, t.Target, cfg)
			if err != nil {
				return runs, fmt.Errorf("bench: compare: %s with %d clients: %w", t.Name, c, err)
			}
			runs = append(runs, &CompareRun{Target: t.Name, Clients: c, Report: NewReport(res)})
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

// WriteCompareTable writes one row per run, with the ratios of each
// run to the CompareBaseline run at the same client count.
func WriteCompareTable(w io.Writer, runs []*CompareRun) error {
	base := Baselines(runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tclients\tops/s\tp50\tp99\tp99.9\terrors\tops/s vs etcd\tp99 vs etcd\t")
	for _, r := range runs {
		opsRatio, p99Ratio := "", ""
		if b := base[r.Clients]; b != nil && b != r {
			o, p := r.Ratios(b)
			opsRatio, p99Ratio = fmt.Sprintf("%.2f×", o), fmt.Sprintf("%.2f×", p)
		}
		m := r.MainOp()
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t\n", r.Target, r.Clients, r.Report.TotalOpsPerSec(),
			fmtMS(m.P50MS), fmtMS(m.P99MS), fmtMS(m.P999MS), r.Errors(), opsRatio, p99Ratio)
	}
	return errors.Join(tw.Flush(), writeString(w, "\nops/s counts every operation of the mix; the latencies are those of its first kind. "+
		"A ratio above 1 means more ops/s, or a longer p99, than etcd.\n"))
}

// CompareTitle describes the workload of a comparison in one line.
func CompareTitle(load Config) string {
	size := fmt.Sprint(load.ValueSize)
	if load.ValueSizeMax > load.ValueSize {
		size += fmt.Sprintf("-%d", load.ValueSizeMax)
	}
	return fmt.Sprintf("%s, %d keys, %s-byte values, %v per run", load.Describe(), load.Keys, size, load.Duration)
}

// fmtUS prints a latency given in microseconds, as fmtDuration does.
func fmtMS(ms float64) string { return fmtDuration(time.Duration(ms * float64(time.Millisecond))) }

func writeString(w io.Writer, s string) error {
	_, err := io.WriteString(w, s)
	return err
}
