package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/chart"
	"github.com/chorusdb/chorus/client"
)

const compareLong = `Run the same workload against a local 3-member etcd, then against a local
3-node Chorus cluster (N=3, R=2, W=2 unless --n/--r/--w say otherwise),
durable and with --no-sync, at each --clients-list count, and print a table
with the ratio of each Chorus run to etcd's.

Both clusters are started for the run on loopback with their data in
temporary directories (etcd from the Debian package, installed by
scripts/install-etcd.sh if missing) and stopped after. With --out DIR the
JSON results, the Markdown table and plots (compare-throughput.png,
compare-p99.png, compare-latency-c<clients>.png) are written to DIR.`

// compareFlags are the flags of chorus bench compare.
type compareFlags struct {
	workloadFlags
	clients []int
	out     string
	binary  string
}

// compareRun is one measured run of a comparison.
type compareRun struct {
	Target  string        `json:"target"` // "chorus", "chorus-nosync", "etcd"
	Clients int           `json:"clients"`
	Report  *bench.Report `json:"report"`
	result  *bench.Result
}

func newBenchCompareCmd(e *env) *cobra.Command {
	f := &compareFlags{workloadFlags: workloadFlags{cfg: bench.DefaultConfig()}}
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "Benchmark Chorus (durable and not) and etcd with the same workload, side by side",
		Long:  compareLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return f.run(cmd.Context(), e) },
	}
	fs := cmd.Flags()
	f.register(fs)
	_ = fs.MarkHidden("clients") // replaced by the list below
	fs.IntSliceVar(&f.clients, "clients-list", []int{16, 64}, "client counts to run at, comma separated")
	fs.StringVar(&f.out, "out", "", "directory for compare.json, compare.md and the plots")
	fs.StringVar(&f.binary, "chorus-binary", "", "chorus executable to run the nodes (default: this one)")
	_ = fs.MarkHidden("chorus-binary")
	return cmd
}

func (f *compareFlags) run(ctx context.Context, e *env) error {
	if f.noSync {
		return usageError("--no-sync: compare runs Chorus both durable and not")
	}
	if len(f.clients) == 0 {
		return usageError("--clients-list: want at least one client count")
	}
	for _, c := range f.clients {
		if c < 1 {
			return usageError("--clients-list: %d is not a client count", c)
		}
	}
	cfg, opts, err := f.config()
	if err != nil {
		return err
	}
	if f.n == 0 && f.r == 0 && f.w == 0 {
		opts = []client.Option{client.WithN(3), client.WithR(2), client.WithW(2)}
	}
	cfg.Progress = e.stderr
	if f.out != "" {
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return err
		}
	}
	// etcd first: a machine that cannot install it fails before the
	// Chorus runs, not after.
	etcdRuns, err := f.runEtcd(ctx, e, cfg)
	if err != nil {
		return err
	}
	runs, err := f.runChorus(ctx, e, cfg, opts)
	if err != nil {
		return err
	}
	runs = append(runs, etcdRuns...)
	fmt.Fprintf(e.stdout, "\n%s, %d keys, %s-byte values, %v per run\n\n", cfg.Describe(), cfg.Keys, f.valueSize, cfg.Duration)
	if err := writeCompareTable(e.stdout, runs); err != nil {
		return err
	}
	if f.out == "" {
		return nil
	}
	return f.writeOut(e, cfg, runs)
}

// runChorus starts a 3-node Chorus cluster and runs the workload at each
// client count, durable and then not.
func (f *compareFlags) runChorus(ctx context.Context, e *env, cfg bench.Config, opts []client.Option) ([]*compareRun, error) {
	_, c, stop, err := startChorus(ctx, e, f.binary)
	if err != nil {
		return nil, err
	}
	defer stop()
	var runs []*compareRun
	for _, clients := range f.clients {
		for _, durable := range []bool{true, false} {
			name, o := "chorus", opts
			if !durable {
				name, o = "chorus-nosync", append(opts[:len(opts):len(opts)], client.NotDurable())
			}
			r, err := runOne(ctx, e, name, clients, cfg, bench.NewClientTarget(c, o...))
			if err != nil {
				return nil, err
			}
			runs = append(runs, r)
		}
	}
	return runs, nil
}

// runEtcd starts a 3-member etcd and runs the workload at each client
// count.
func (f *compareFlags) runEtcd(ctx context.Context, e *env, cfg bench.Config) ([]*compareRun, error) {
	_, t, stop, err := startEtcd(ctx, e, false)
	if err != nil {
		return nil, err
	}
	defer stop()
	var runs []*compareRun
	for _, clients := range f.clients {
		r, err := runOne(ctx, e, "etcd", clients, cfg, t)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// runOne runs cfg with clients clients against t.
func runOne(ctx context.Context, e *env, name string, clients int, cfg bench.Config, t bench.Target) (*compareRun, error) {
	cfg.Clients = clients
	fmt.Fprintf(e.stderr, "compare: %s, %d clients\n", name, clients)
	res, err := bench.Run(ctx, t, cfg)
	if err != nil {
		return nil, fmt.Errorf("compare: %s with %d clients: %w", name, clients, err)
	}
	return &compareRun{Target: name, Clients: clients, Report: bench.NewReport(res), result: res}, nil
}

// mainOp returns the row a comparison ranks a run by: the first
// operation kind of the mix (put for a write-only run, get for a read
// run, and so on).
func mainOp(r *compareRun) *bench.OpStats {
	if len(r.result.Ops) == 0 {
		return &bench.OpStats{}
	}
	return r.result.Ops[0]
}

// writeCompareTable prints one row per run, with Chorus's ratios to the
// etcd run at the same client count.
func writeCompareTable(w io.Writer, runs []*compareRun) error {
	etcd := map[int]*compareRun{}
	for _, r := range runs {
		if r.Target == "etcd" {
			etcd[r.Clients] = r
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tclients\tops/s\tp50\tp99\tp99.9\terrors\tops/s vs etcd\tp99 vs etcd\t")
	for _, r := range runs {
		s := mainOp(r)
		h := &s.Latency
		ratio, p99 := "", ""
		if base := etcd[r.Clients]; base != nil && r != base {
			ratio = fmt.Sprintf("%.2f×", r.Report.TotalOpsPerSec()/max(base.Report.TotalOpsPerSec(), 1e-9))
			p99 = fmt.Sprintf("%.2f×", float64(h.Quantile(0.99))/max(float64(mainOp(base).Latency.Quantile(0.99)), 1))
		}
		var errs int64
		for _, o := range r.result.Ops {
			errs += o.Errors
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t\n", r.Target, r.Clients, r.Report.TotalOpsPerSec(),
			fmtLatency(h.Quantile(0.5)), fmtLatency(h.Quantile(0.99)), fmtLatency(h.Quantile(0.999)), errs, ratio, p99)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nops/s counts every operation of the mix; the latencies are those of its first kind. A ratio above 1 means more ops/s, or a longer p99, than etcd.")
	return err
}

func fmtLatency(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}

// writeOut writes DIR/compare.json, compare.md and the plots.
func (f *compareFlags) writeOut(e *env, cfg bench.Config, runs []*compareRun) error {
	js, err := json.MarshalIndent(map[string]any{"workload": cfg.Describe(), "runs": runs}, "", "  ")
	if err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "%s, %d keys, %s-byte values, %v per run\n\n```\n", cfg.Describe(), cfg.Keys, f.valueSize, cfg.Duration)
	if err := writeCompareTable(&md, runs); err != nil {
		return err
	}
	md.WriteString("```\n")
	files := map[string][]byte{"compare.json": append(js, '\n'), "compare.md": []byte(md.String())}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(f.out, name), data, 0o644); err != nil {
			return err
		}
	}
	if err := plotCompare(f.out, cfg, f.clients, runs); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "compare: results and plots in %s\n", f.out)
	return nil
}

// plotCompare draws ops/s and p99 as bars per client count and target,
// and one latency spectrum per client count.
func plotCompare(dir string, cfg bench.Config, clientCounts []int, runs []*compareRun) error {
	var cats []string
	for _, c := range clientCounts {
		cats = append(cats, fmt.Sprintf("%d clients", c))
	}
	targets := []string{"chorus", "chorus-nosync", "etcd"}
	ops := chart.Bars{Title: cfg.Describe() + ": throughput", YLabel: "operations per second", Categories: cats}
	p99 := chart.Bars{Title: cfg.Describe() + ": p99 latency", YLabel: "p99 (ms)", Categories: cats}
	for _, t := range targets {
		opsBars, p99Bars := chart.BarSeries{Name: t}, chart.BarSeries{Name: t}
		for _, c := range clientCounts {
			var o, p float64
			for _, r := range runs {
				if r.Target == t && r.Clients == c {
					o, p = r.Report.TotalOpsPerSec(), float64(mainOp(r).Latency.Quantile(0.99))/float64(time.Millisecond)
				}
			}
			opsBars.Values, p99Bars.Values = append(opsBars.Values, o), append(p99Bars.Values, p)
		}
		ops.Series, p99.Series = append(ops.Series, opsBars), append(p99.Series, p99Bars)
	}
	var errs []error
	errs = append(errs, ops.Save(filepath.Join(dir, "compare-throughput.png")), p99.Save(filepath.Join(dir, "compare-p99.png")))
	for _, c := range clientCounts {
		sp := chart.Spectrum{Title: fmt.Sprintf("%s, %d clients: latency by percentile", cfg.Describe(), c)}
		for _, r := range runs {
			if r.Clients != c {
				continue
			}
			if q, ok := spectrum(r.Target, &mainOp(r).Latency); ok {
				sp.Series = append(sp.Series, q)
			}
		}
		if len(sp.Series) > 0 {
			errs = append(errs, sp.Save(filepath.Join(dir, fmt.Sprintf("compare-latency-c%d.png", c))))
		}
	}
	return errors.Join(errs...)
}
