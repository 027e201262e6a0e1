package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/chart"
)

func newExperimentCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "experiment",
		Short: "Run experiments on local clusters (quorum sweep with staleness and availability)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newQuorumExperimentCmd(e))
	return cmd
}

const quorumLong = `Sweep quorum settings (N, R, W), each on a fresh local cluster of --nodes
nodes in this process (loopback gRPC and gossip, data in a temporary
directory), and report for each:

  - throughput and latency of a 50/50 read/write load (--clients, --duration);
  - staleness: after each of --writes acknowledged writes through one node,
    reads through the others at each of --deltas; P(consistent read) is the
    share that returned the latest acknowledged version, with the WARS
    model's prediction (Bailis et al.) from the one-way delays measured;
  - availability with one node cut off and with the cluster partitioned 2|3,
    with sloppy quorums (fallbacks stand in) and strict ones (PR=R, PW=W),
    on an in-memory cluster of the same size.

The default sweep is N=3 with every R and W in 1..3, and N=5 with (1,1),
(1,5), (5,1), (2,2), (3,3); --settings picks others (N:R:W,...). The table
goes to stdout; results.json, results.md and plots (staleness.png,
tradeoff.png, availability.png, latency.png) to --out.`

type sweepFlags struct {
	settings  string
	nodes     int
	clients   int
	duration  time.Duration
	writes    int
	deltas    []time.Duration
	durable   bool
	availFor  time.Duration
	noAvail   bool
	trials    int
	out       string
	valueSize int
}

func newQuorumExperimentCmd(e *env) *cobra.Command {
	f := &sweepFlags{}
	cmd := &cobra.Command{
		Use:   "quorum",
		Short: "Sweep (N, R, W): throughput, latency, staleness measured and predicted, availability under faults",
		Long:  quorumLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return f.run(cmd, e) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.settings, "settings", "", "settings to measure, N:R:W comma separated (default: the sweep above)")
	fs.IntVar(&f.nodes, "nodes", 5, "nodes per cluster")
	fs.IntVar(&f.clients, "clients", 16, "closed-loop clients of the load")
	fs.DurationVar(&f.duration, "duration", 5*time.Second, "duration of each setting's load")
	fs.IntVar(&f.valueSize, "value-size", bench.DefaultValueSize, "bytes per written value of the load")
	fs.IntVar(&f.writes, "writes", 1000, "acknowledged writes to read after, per setting")
	ms := time.Millisecond
	fs.DurationSliceVar(&f.deltas, "deltas", []time.Duration{0, ms, 2 * ms, 5 * ms, 10 * ms, 20 * ms}, "read delays after each acknowledged write")
	fs.BoolVar(&f.durable, "durable", false, "sync writes on the replicas (default: not, to measure the quorums without the disk)")
	fs.DurationVar(&f.availFor, "availability-duration", time.Second, "duration of each availability measurement")
	fs.BoolVar(&f.noAvail, "no-availability", false, "skip the availability measurements")
	fs.IntVar(&f.trials, "trials", 20000, "Monte Carlo trials of each prediction")
	fs.StringVar(&f.out, "out", "bench-out/quorum", "directory for results.json, results.md and the plots")
	return cmd
}

// parseSettings parses "N:R:W,N:R:W".
func parseSettings(s string) ([]bench.Setting, error) {
	if s == "" {
		return nil, nil
	}
	var out []bench.Setting
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
		out = append(out, bench.Setting{N: v[0], R: v[1], W: v[2]})
	}
	return out, nil
}

func (f *sweepFlags) config() (bench.ExperimentConfig, error) {
	settings, err := parseSettings(f.settings)
	if err != nil {
		return bench.ExperimentConfig{}, usageError("--settings: %v", err)
	}
	if f.nodes < 2 || f.nodes > 16 || f.clients < 1 || f.writes < 1 || f.duration <= 0 || f.trials < 1 || f.valueSize < 0 {
		return bench.ExperimentConfig{}, usageError("--nodes (2-16), --clients, --writes, --duration and --trials must be positive")
	}
	cfg := bench.ExperimentConfig{Settings: settings, Nodes: f.nodes, Durable: f.durable, Trials: f.trials,
		AvailabilityDuration: f.availFor}
	cfg.Load = bench.Config{Op: bench.OpMixed, ReadRatio: 0.5, Clients: f.clients, Duration: f.duration, Keys: 1000,
		ValueSize: f.valueSize, Seed: bench.DefaultSeed}
	cfg.Staleness = bench.StalenessConfig{Writes: f.writes, Deltas: f.deltas}
	if f.noAvail {
		cfg.AvailabilityDuration = -1
	}
	cfg.Dir = os.TempDir() // checked by Validate; replaced by a fresh directory in run
	if err := cfg.Validate(); err != nil {
		return cfg, usageError("%v", strings.TrimPrefix(err.Error(), bench.ErrInvalidConfig.Error()+": "))
	}
	return cfg, nil
}

func (f *sweepFlags) run(cmd *cobra.Command, e *env) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "chorus-experiment-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cfg.Dir, cfg.Progress = tmp, e.stderr
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	results, runErr := bench.QuorumExperiment(cmd.Context(), cfg)
	if len(results) == 0 {
		return runErr
	}
	var md strings.Builder
	writeQuorumTable(&md, cfg, results)
	fmt.Fprint(e.stdout, md.String())
	js, err := json.MarshalIndent(map[string]any{"nodes": cfg.Nodes, "durable": cfg.Durable, "settings": results}, "", "  ")
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"results.json": append(js, '\n'), "results.md": []byte(md.String())} {
		if err := os.WriteFile(filepath.Join(f.out, name), data, 0o644); err != nil {
			return err
		}
	}
	if err := plotQuorum(f.out, cfg, results); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "experiment: results and plots in %s\n", f.out)
	return runErr
}

// writeQuorumTable writes the Markdown table of an experiment.
func writeQuorumTable(w io.Writer, cfg bench.ExperimentConfig, results []*bench.SettingResult) {
	fmt.Fprintf(w, "Quorum experiment: %d nodes, %s writes, load %s with %d clients for %v; staleness after %d writes.\n\n",
		cfg.Nodes, map[bool]string{true: "durable", false: "not durable"}[cfg.Durable], cfg.Load.Describe(),
		cfg.Load.Clients, cfg.Load.Duration, cfg.Staleness.Writes)
	fmt.Fprintln(w, "| N | R | W | quorum | ops/s | get p50 / p99 | put p50 / p99 | P(consistent) Δ=0 measured / predicted | Δ=5ms measured / predicted | Δ=0: 1 / ≥2 versions behind, measured; predicted | one node down: sloppy / strict | 2\\|3 partition: sloppy / strict |")
	fmt.Fprintln(w, "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		kind := "partial"
		if r.Strict {
			kind = "strict"
		}
		get, put := opReport(r.Load, "get"), opReport(r.Load, "put")
		fmt.Fprintf(w, "| %d | %d | %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n", r.N, r.R, r.W, kind, r.Load.TotalOpsPerSec(),
			latencyPair(get), latencyPair(put), consistentPair(r, 0), consistentPair(r, 5*time.Millisecond), behindAtZero(r),
			availPair(r, bench.OneDown), availPair(r, bench.Partition))
	}
	fmt.Fprintln(w, "\nP(consistent): share of reads through another node that returned the latest acknowledged write, Δ after its acknowledgement; predicted by the WARS model from the one-way delays the coordinators recorded. Versions behind: share of reads at Δ=0 that returned an older version. Availability: share of requests that succeeded (clients on every node, each at a fixed rate); sloppy lets fallbacks stand in for unreachable primaries, strict (PR=R, PW=W) does not.")
}

func opReport(r *bench.Report, op string) *bench.OpReport {
	for _, o := range r.Ops {
		if o.Op == op {
			return o
		}
	}
	return nil
}

func latencyPair(o *bench.OpReport) string {
	if o == nil {
		return "-"
	}
	us := func(v float64) string { return fmtLatency(time.Duration(v * float64(time.Microsecond))) }
	return us(o.P50US) + " / " + us(o.P99US)
}

func consistentPair(r *bench.SettingResult, d time.Duration) string {
	m, p, ok := r.Consistent(d)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.4f / %.4f", m, p)
}

// behindAtZero returns the shares of reads at the first delta that were
// one, and two or more, versions behind: measured; predicted.
func behindAtZero(r *bench.SettingResult) string {
	if len(r.Staleness.Points) == 0 || len(r.Predicted) == 0 {
		return "-"
	}
	m1, m2 := splitBehind(r.Staleness.Points[0].Behind)
	p1, p2 := splitBehind(r.Predicted[0].Behind)
	return fmt.Sprintf("%.4f / %.4f; %.4f / %.4f", m1, m2, p1, p2)
}

func availPair(r *bench.SettingResult, f bench.Fault) string {
	sloppy, strict := r.Availability(f, false), r.Availability(f, true)
	if sloppy == nil || strict == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f / %.3f", sloppy.Share(), strict.Share())
}

// plotQuorum draws the experiment's plots into dir.
func plotQuorum(dir string, cfg bench.ExperimentConfig, results []*bench.SettingResult) error {
	one := 1.0
	zero := 0.0
	stale := chart.Lines{Title: "P(consistent read): measured and predicted (WARS)",
		XLabel: "Δ after acknowledgement (ms)", YLabel: "P(consistent)", YMin: &zero, YMax: &one}
	trade := chart.Scatter{Title: "Latency and consistency by quorum setting", XLabel: "get p99 (ms)", YLabel: "P(consistent) at Δ=0"}
	avail := chart.Bars{Title: "Availability under faults", YLabel: "share of requests that succeeded"}
	lat := chart.Bars{Title: "Latency by quorum setting", YLabel: "ms"}
	availSeries := []chart.BarSeries{{Name: "one down, sloppy"}, {Name: "one down, strict"}, {Name: "2|3, sloppy"}, {Name: "2|3, strict"}}
	latSeries := []chart.BarSeries{{Name: "get p50"}, {Name: "get p99"}, {Name: "put p50"}, {Name: "put p99"}}
	for _, r := range results {
		name := fmt.Sprintf("N%d R%d W%d", r.N, r.R, r.W)
		if !r.Strict {
			var m, p chart.Series
			m.Name, p.Name = name+" measured", name+" predicted"
			for i, pt := range r.Staleness.Points {
				m.X, m.Y = append(m.X, pt.DeltaMS), append(m.Y, pt.Consistent)
				p.X, p.Y = append(p.X, r.Predicted[i].DeltaMS), append(p.Y, r.Predicted[i].Consistent)
			}
			stale.Series = append(stale.Series, m, p)
		}
		get, put := opReport(r.Load, "get"), opReport(r.Load, "put")
		if get != nil && len(r.Staleness.Points) > 0 {
			trade.Points = append(trade.Points, chart.Point{Label: name, X: get.P99US / 1000, Y: r.Staleness.Points[0].Consistent,
				Group: fmt.Sprintf("N=%d", r.N)})
		}
		if len(r.Available) > 0 {
			avail.Categories = append(avail.Categories, name)
			for i, a := range []*bench.Availability{r.Availability(bench.OneDown, false), r.Availability(bench.OneDown, true),
				r.Availability(bench.Partition, false), r.Availability(bench.Partition, true)} {
				availSeries[i].Values = append(availSeries[i].Values, a.Share())
			}
		}
		lat.Categories = append(lat.Categories, name)
		for i, v := range []float64{pick(get, 50), pick(get, 99), pick(put, 50), pick(put, 99)} {
			latSeries[i].Values = append(latSeries[i].Values, v)
		}
	}
	avail.Series, lat.Series = availSeries, latSeries
	var errs []error
	if len(stale.Series) > 0 {
		errs = append(errs, stale.Save(filepath.Join(dir, "staleness.png")))
	}
	if len(trade.Points) > 0 {
		errs = append(errs, trade.Save(filepath.Join(dir, "tradeoff.png")))
	}
	if len(avail.Categories) > 0 {
		errs = append(errs, avail.Save(filepath.Join(dir, "availability.png")))
	}
	errs = append(errs, lat.Save(filepath.Join(dir, "latency.png")))
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// pick returns o's p50 or p99 in milliseconds, 0 when o is nil.
func pick(o *bench.OpReport, p int) float64 {
	if o == nil {
		return 0
	}
	if p == 50 {
		return o.P50US / 1000
	}
	return o.P99US / 1000
}
