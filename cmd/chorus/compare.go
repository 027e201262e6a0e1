package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/plots"
	"github.com/chorusdb/chorus/bench/procs"
	"github.com/chorusdb/chorus/client"
)

const compareLong = `Run the same workload against a local 3-member etcd, then against a local
3-node Chorus cluster (N=3, R=2, W=2 unless --n/--r/--w say otherwise),
durable and with --no-sync, at each --clients-list count, and print a table
with the ratio of each Chorus run to etcd's. The Chorus cluster serves
plaintext, as etcd does here; --tls adds a run of a TLS cluster
(chorus-tls: TLS 1.3 to clients, mutual TLS between nodes). etcd's gets
are linearizable (through the leader); the report says so, and gives the
quorum of the Chorus requests.

Both clusters are started for the run on loopback with their data in
temporary directories (etcd from the Debian package, installed by
scripts/install-etcd.sh if missing) and stopped after.

Beside throughput, p50, p99 and p99.9 (of the mix's first operation kind),
each row gives what the servers spent, read from /proc of the processes
this command started (Linux; "n/a" elsewhere): cpu/op, the CPU time (user
and system) of all the cluster's server processes during the measured part
of the run (not the preload or --warmup), divided by the operations
answered; and peak RSS, the largest node's peak resident set (VmHWM)
after the run. Before its first run, each cluster is left to settle for
--idle-settle (its anti-entropy trees built, the first exchanges done),
then without requests for --idle (0 skips both), and its CPU over that
time is reported in millicores (thousandths of a core).

With --out DIR the JSON results (compare.json: cpu_us_per_op,
server_cpu_ms, peak_rss_mib and node_peak_rss_mib per run, and
idle_millicores per system), the Markdown table and plots
(compare-throughput.png, compare-p99.png, compare-latency-c<clients>.png)
are written to DIR.`

// compareFlags are the flags of chorus bench compare.
type compareFlags struct {
	portOffset int
	workloadFlags
	clients    []int
	out        string
	binary     string
	tls        bool
	idle       time.Duration
	idleSettle time.Duration
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
	f.addFlags(cmd.Flags())
	return cmd
}

// addFlags defines the command's flags on fs.
func (f *compareFlags) addFlags(fs *pflag.FlagSet) {
	f.register(fs)
	_ = fs.MarkHidden("clients") // replaced by the list below
	fs.IntSliceVar(&f.clients, "clients-list", []int{16, 64}, "client counts to run at, comma separated")
	fs.StringVar(&f.out, "out", "", "directory for compare.json, compare.md and the plots")
	fs.DurationVar(&f.idle, "idle", 10*time.Second, "measure each cluster's CPU this long without requests before its runs (0: skip)")
	fs.DurationVar(&f.idleSettle, "idle-settle", 20*time.Second, "wait this long after a cluster starts before measuring it idle (start-up work is not idle)")
	fs.BoolVar(&f.tls, "tls", false, "also run a 3-node Chorus cluster secured with TLS (chorus-tls, durable), to measure what TLS costs")
	fs.StringVar(&f.binary, "chorus-binary", "", "chorus executable to run the nodes (default: this one)")
	fs.IntVar(&f.portOffset, "port-offset", 0, portOffsetUsage)
	_ = fs.MarkHidden("chorus-binary")
}

// config checks the flags and returns the load and the Chorus options.
func (f *compareFlags) config() (bench.Config, []client.Option, error) {
	if f.noSync {
		return bench.Config{}, nil, usageError("--no-sync: compare runs Chorus both durable and not")
	}
	if len(f.clients) == 0 {
		return bench.Config{}, nil, usageError("--clients-list: want at least one client count")
	}
	if f.idle < 0 {
		return bench.Config{}, nil, usageError("--idle must not be negative")
	}
	if f.idleSettle < 0 {
		return bench.Config{}, nil, usageError("--idle-settle must not be negative")
	}
	for _, c := range f.clients {
		if c < 1 {
			return bench.Config{}, nil, usageError("--clients-list: %d is not a client count", c)
		}
	}
	cfg, opts, err := f.workloadFlags.config()
	if f.n == 0 && f.r == 0 && f.w == 0 {
		opts = []client.Option{client.WithN(3), client.WithR(2), client.WithW(2)}
	}
	return cfg, opts, err
}

// compareEtcdSerializable is the read mode of etcd in a comparison:
// linearizable, the one that matches Chorus's quorum reads.
const compareEtcdSerializable = false

func (f *compareFlags) run(ctx context.Context, e *env) error {
	cfg, opts, err := f.config()
	if err != nil {
		return err
	}
	cfg.Progress = e.stderr
	cmp := &bench.Comparison{Workload: cfg.Describe(), ChorusQuorum: f.quorum(), EtcdReads: readMode(compareEtcdSerializable),
		Idle: []*bench.IdleCost{}}
	// etcd first: a machine that cannot install it fails before the
	// Chorus runs, not after.
	etcdRuns, err := f.runEtcd(ctx, e, cfg, cmp)
	if err != nil {
		return err
	}
	runs, err := f.runChorus(ctx, e, cfg, opts, cmp)
	if err != nil {
		return err
	}
	if f.tls {
		tlsRuns, err := f.runChorusTLS(ctx, e, cfg, opts, cmp)
		if err != nil {
			return err
		}
		runs = append(runs, tlsRuns...)
	}
	cmp.Runs = append(runs, etcdRuns...)
	var table strings.Builder
	if err := bench.WriteComparison(&table, cmp); err != nil {
		return err
	}
	err = printTableOrJSON(e, cmp, func() error {
		_, err := fmt.Fprintf(e.stdout, "\n%s\n\n%s", bench.CompareTitle(cfg), table.String())
		return err
	})
	if err != nil || f.out == "" {
		return err
	}
	return f.writeOut(e, cfg, cmp, table.String())
}

// readMode names etcd's read mode.
func readMode(serializable bool) string {
	if serializable {
		return "serializable"
	}
	return "linearizable"
}

// quorum describes the quorum of the Chorus requests.
func (f *compareFlags) quorum() string {
	n, r, w := f.n, f.r, f.w
	if n == 0 && r == 0 && w == 0 {
		n, r, w = 3, 2, 2 // as config sets them
	}
	v := func(x int) string {
		if x == 0 {
			return "default"
		}
		return strconv.Itoa(x)
	}
	return fmt.Sprintf("N=%s R=%s W=%s", v(n), v(r), v(w))
}

// measureIdle adds the idle cost of the cluster of pids, named system, to
// cmp, unless --idle is 0. A cost that cannot be read is reported and
// left out; only the end of ctx is an error.
func (f *compareFlags) measureIdle(ctx context.Context, e *env, cmp *bench.Comparison, system string, pids []int) error {
	if f.idle == 0 {
		return nil
	}
	if f.idleSettle > 0 {
		fmt.Fprintf(e.stderr, "compare: %s settling for %v\n", system, f.idleSettle)
		t := time.NewTimer(f.idleSettle)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	fmt.Fprintf(e.stderr, "compare: %s idle for %v\n", system, f.idle)
	c, err := bench.MeasureIdle(ctx, system, pids, f.idle)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		fmt.Fprintf(e.stderr, "compare: %v\n", err)
		c = &bench.IdleCost{System: system, WindowMS: float64(f.idle) / float64(time.Millisecond)}
	}
	cmp.Idle = append(cmp.Idle, c)
	return nil
}

// runChorus starts a 3-node Chorus cluster, measures its idle cost, and
// runs the workload at each client count, durable and then not.
func (f *compareFlags) runChorus(ctx context.Context, e *env, cfg bench.Config, opts []client.Option, cmp *bench.Comparison) ([]*bench.CompareRun, error) {
	pc, c, stop, err := startChorus(ctx, e, f.binary, f.portOffset)
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := f.measureIdle(ctx, e, cmp, "chorus", pc.PIDs()); err != nil {
		return nil, err
	}
	noSync := append(opts[:len(opts):len(opts)], client.NotDurable())
	return bench.Compare(ctx, cfg, f.clients, []bench.NamedTarget{
		{Name: "chorus", Target: bench.NewClientTarget(c, opts...), PIDs: pc.PIDs},
		{Name: "chorus-nosync", Target: bench.NewClientTarget(c, noSync...), PIDs: pc.PIDs},
	})
}

// runChorusTLS starts a 3-node Chorus cluster secured as a deployment
// is (TLS on the client ports, mutual TLS between nodes, encrypted
// gossip), measures its idle cost, and runs the workload durably at each
// client count.
func (f *compareFlags) runChorusTLS(ctx context.Context, e *env, cfg bench.Config, opts []client.Option, cmp *bench.Comparison) ([]*bench.CompareRun, error) {
	pc, c, stop, err := startChorus(ctx, e, f.binary, f.portOffset, func(pc *procs.Config) { pc.TLS = true })
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := f.measureIdle(ctx, e, cmp, "chorus-tls", pc.PIDs()); err != nil {
		return nil, err
	}
	return bench.Compare(ctx, cfg, f.clients, []bench.NamedTarget{{Name: "chorus-tls", Target: bench.NewClientTarget(c, opts...), PIDs: pc.PIDs}})
}

// runEtcd starts a 3-member etcd, measures its idle cost, and runs the
// workload at each client count.
func (f *compareFlags) runEtcd(ctx context.Context, e *env, cfg bench.Config, cmp *bench.Comparison) ([]*bench.CompareRun, error) {
	ec, t, stop, err := startEtcd(ctx, e, compareEtcdSerializable, f.portOffset)
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := f.measureIdle(ctx, e, cmp, bench.CompareBaseline, ec.PIDs()); err != nil {
		return nil, err
	}
	return bench.Compare(ctx, cfg, f.clients, []bench.NamedTarget{{Name: bench.CompareBaseline, Target: t, PIDs: ec.PIDs}})
}

// writeOut writes DIR/compare.json, compare.md and the plots.
func (f *compareFlags) writeOut(e *env, cfg bench.Config, cmp *bench.Comparison, table string) error {
	md := fmt.Sprintf("%s\n\n```\n%s```\n", bench.CompareTitle(cfg), table)
	err := writeOut(f.out, map[string]func(string) error{
		"compare.json": jsonFile(cmp),
		"compare.md":   textFile(md),
	})
	if err == nil {
		err = plots.Compare(f.out, cfg, f.clients, cmp.Runs)
	}
	if err == nil {
		fmt.Fprintf(e.stderr, "compare: results and plots in %s\n", f.out)
	}
	return err
}
