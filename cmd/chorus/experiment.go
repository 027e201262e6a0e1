package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/plots"
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
	f.addFlags(cmd.Flags())
	return cmd
}

// addFlags defines the command's flags on fs.
func (f *sweepFlags) addFlags(fs *pflag.FlagSet) {
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
}

func (f *sweepFlags) config() (bench.ExperimentConfig, error) {
	settings, err := bench.ParseSettings(f.settings)
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
	return cfg, configError(cfg.Validate())
}

func (f *sweepFlags) run(cmd *cobra.Command, e *env) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	cfg.Progress = e.stderr
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	results, runErr := bench.QuorumExperiment(cmd.Context(), cfg)
	if len(results) == 0 {
		return runErr
	}
	var md strings.Builder
	if err := bench.WriteQuorumTable(&md, cfg, results); err != nil {
		return err
	}
	report := map[string]any{"nodes": cfg.Nodes, "durable": cfg.Durable, "settings": results}
	if err := printTableOrJSON(e, report, func() error { _, err := fmt.Fprint(e.stdout, md.String()); return err }); err != nil {
		return err
	}
	err = writeOut(f.out, map[string]func(string) error{
		"results.json": jsonFile(report),
		"results.md":   textFile(md.String()),
	})
	if err == nil {
		err = plots.Quorum(f.out, results)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "experiment: results and plots in %s\n", f.out)
	return runErr
}
