package main

import (
	"context"
	"fmt"
	"strings"

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
(chorus-tls: TLS 1.3 to clients, mutual TLS between nodes).

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
	tls     bool
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
	fs.BoolVar(&f.tls, "tls", false, "also run a 3-node Chorus cluster secured with TLS (chorus-tls, durable), to measure what TLS costs")
	fs.StringVar(&f.binary, "chorus-binary", "", "chorus executable to run the nodes (default: this one)")
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

func (f *compareFlags) run(ctx context.Context, e *env) error {
	cfg, opts, err := f.config()
	if err != nil {
		return err
	}
	cfg.Progress = e.stderr
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
	if f.tls {
		tlsRuns, err := f.runChorusTLS(ctx, e, cfg, opts)
		if err != nil {
			return err
		}
		runs = append(runs, tlsRuns...)
	}
	runs = append(runs, etcdRuns...)
	var table strings.Builder
	if err := bench.WriteCompareTable(&table, runs); err != nil {
		return err
	}
	err = printTableOrJSON(e, map[string]any{"workload": cfg.Describe(), "runs": runs}, func() error {
		_, err := fmt.Fprintf(e.stdout, "\n%s\n\n%s", bench.CompareTitle(cfg), table.String())
		return err
	})
	if err != nil || f.out == "" {
		return err
	}
	return f.writeOut(e, cfg, runs, table.String())
}

// runChorus starts a 3-node Chorus cluster and runs the workload at each
// client count, durable and then not.
func (f *compareFlags) runChorus(ctx context.Context, e *env, cfg bench.Config, opts []client.Option) ([]*bench.CompareRun, error) {
	_, c, stop, err := startChorus(ctx, e, f.binary)
	if err != nil {
		return nil, err
	}
	defer stop()
	noSync := append(opts[:len(opts):len(opts)], client.NotDurable())
	return bench.Compare(ctx, cfg, f.clients, []bench.NamedTarget{
		{Name: "chorus", Target: bench.NewClientTarget(c, opts...)},
		{Name: "chorus-nosync", Target: bench.NewClientTarget(c, noSync...)},
	})
}

// runChorusTLS starts a 3-node Chorus cluster secured as a deployment
// is (TLS on the client ports, mutual TLS between nodes, encrypted
// gossip) and runs the workload durably at each client count.
func (f *compareFlags) runChorusTLS(ctx context.Context, e *env, cfg bench.Config, opts []client.Option) ([]*bench.CompareRun, error) {
	_, c, stop, err := startChorus(ctx, e, f.binary, func(pc *procs.Config) { pc.TLS = true })
	if err != nil {
		return nil, err
	}
	defer stop()
	return bench.Compare(ctx, cfg, f.clients, []bench.NamedTarget{{Name: "chorus-tls", Target: bench.NewClientTarget(c, opts...)}})
}

// runEtcd starts a 3-member etcd and runs the workload at each client
// count.
func (f *compareFlags) runEtcd(ctx context.Context, e *env, cfg bench.Config) ([]*bench.CompareRun, error) {
	_, t, stop, err := startEtcd(ctx, e, false)
	if err != nil {
		return nil, err
	}
	defer stop()
	return bench.Compare(ctx, cfg, f.clients, []bench.NamedTarget{{Name: bench.CompareBaseline, Target: t}})
}

// writeOut writes DIR/compare.json, compare.md and the plots.
func (f *compareFlags) writeOut(e *env, cfg bench.Config, runs []*bench.CompareRun, table string) error {
	md := fmt.Sprintf("%s\n\n```\n%s```\n", bench.CompareTitle(cfg), table)
	err := writeOut(f.out, map[string]func(string) error{
		"compare.json": jsonFile(map[string]any{"workload": cfg.Describe(), "runs": runs}),
		"compare.md":   textFile(md),
	})
	if err == nil {
		err = plots.Compare(f.out, cfg, f.clients, runs)
	}
	if err == nil {
		fmt.Fprintf(e.stderr, "compare: results and plots in %s\n", f.out)
	}
	return err
}
