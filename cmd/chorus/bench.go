package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/etcdtarget"
	"github.com/chorusdb/chorus/bench/plots"
	"github.com/chorusdb/chorus/client"
)

const benchLong = `Run a load against a Chorus cluster or an etcd cluster and report latency
percentiles.

The workload (--op) is put, get, mixed (--read-ratio), one of the YCSB core
workloads a (50% read, 50% update), b (95/5), c (read only), d (read
latest, 5% inserts), f (read-modify-write), or delete (40% put, 40% delete,
20% get). Keys are key-%08d among --keys, chosen by --distribution
(uniform, zipfian with skew --theta, latest; default: the workload's own).
--value-size is a size or a range (100-1000).

By default --clients goroutines run a closed loop: each sends its next
request when the last one answered. With --rate the loop is open: requests
are scheduled at that rate whatever the latency, and each latency counts
from its scheduled start, so a stall shows in full (no coordinated
omission). A workload that reads first writes every key once (the
"preload" row).

--target chorus (the default) uses the Go client against --endpoints (the
gRPC addresses of any nodes; a 'chorus demo' listens on 127.0.0.1:9090);
--target etcd uses the etcd v3 client. A running Chorus cluster is reached
with TLS (--certs-dir, --user, --token) or in plaintext (--insecure), as
by every command that talks to a cluster. With --start, the target is started
for the run on loopback (3 'chorus node' processes, or 3 etcd members from
the Debian package, installed by scripts/install-etcd.sh if missing), with
its data in a temporary directory, and stopped after.

Progress goes to stderr once per second; the table (or, with -o json, the
JSON report) to stdout. --plot PREFIX writes PREFIX-throughput.png and
PREFIX-latency.png. Errors are counted by kind, not fatal.`

// benchFlags are the flags of chorus bench.
type benchFlags struct {
	portOffset int
	workloadFlags
	target       string
	endpoints    []string
	start        bool
	serializable bool
	json         bool
	out          string
	plot         string
	// binary is the chorus executable --start runs (default: this one).
	binary string
	// conn reaches a running Chorus cluster (not one --start starts).
	conn connFlags
}

// workloadFlags are the flags bench and bench compare share.
type workloadFlags struct {
	cfg       bench.Config
	op        string
	dist      string
	valueSize string
	n, r, w   int
	noSync    bool
}

func (f *workloadFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&f.cfg.Clients, "clients", bench.DefaultClients, "concurrent clients (closed loop), or the bound on requests in flight (--rate)")
	fs.DurationVar(&f.cfg.Duration, "duration", bench.DefaultDuration, "measured duration of the run (0: until --ops)")
	fs.Int64Var(&f.cfg.Ops, "ops", 0, "stop after this many operations (0: until --duration)")
	fs.StringVar(&f.op, "op", string(bench.OpPut), "workload: "+strings.Join(bench.Ops(), ", "))
	fs.Float64Var(&f.cfg.ReadRatio, "read-ratio", bench.DefaultReadRatio, "fraction of reads of --op mixed")
	fs.IntVar(&f.cfg.Keys, "keys", bench.DefaultKeys, "size of the key space")
	fs.StringVar(&f.dist, "distribution", "", "key choice: uniform, zipfian or latest (default: the workload's)")
	fs.Float64Var(&f.cfg.Theta, "theta", bench.DefaultTheta, "skew of --distribution zipfian and latest (above 0)")
	fs.StringVar(&f.valueSize, "value-size", strconv.Itoa(bench.DefaultValueSize), "bytes per written value, or a range MIN-MAX")
	fs.Float64Var(&f.cfg.Rate, "rate", 0, "open loop: operations per second in all (0: closed loop)")
	fs.IntVarP(&f.n, "n", "n", 0, "chorus: replicas N (0: the server's default)")
	fs.IntVarP(&f.r, "r", "r", 0, "chorus: read quorum R (0: the server's default)")
	fs.IntVarP(&f.w, "w", "w", 0, "chorus: write quorum W (0: the server's default)")
	fs.BoolVar(&f.noSync, "no-sync", false, "chorus: do not sync writes to disk on the replicas (not durable)")
	fs.Int64Var(&f.cfg.Seed, "seed", bench.DefaultSeed, "seed of the key and operation choice")
	fs.DurationVar(&f.cfg.Warmup, "warmup", 0, "run this long before measuring")
	fs.BoolVar(&f.cfg.NoPreload, "no-preload", false, "skip writing every key once before a workload that reads")
}

func newBenchCmd(e *env) *cobra.Command {
	f := &benchFlags{workloadFlags: workloadFlags{cfg: bench.DefaultConfig()}}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark a Chorus or etcd cluster (YCSB workloads, open or closed loop, latency percentiles)",
		Long:  benchLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return f.run(cmd, e) },
	}
	f.addFlags(cmd.Flags())
	cmd.AddCommand(newBenchCompareCmd(e), newBenchStalenessCmd(e), newBenchFailoverCmd(e))
	return cmd
}

// addFlags defines the command's flags on fs.
func (f *benchFlags) addFlags(fs *pflag.FlagSet) {
	f.register(fs)
	fs.StringVar(&f.target, "target", "chorus", "system under test: chorus or etcd")
	fs.StringSliceVar(&f.endpoints, "endpoints", nil,
		"addresses (host:port, comma separated) of the target's nodes (default: chorus 127.0.0.1:9090, etcd the --start ports)")
	fs.BoolVar(&f.start, "start", false, "start a local 3-node target for the run and stop it after")
	fs.BoolVar(&f.serializable, "serializable", false, "etcd: serializable (possibly stale) reads instead of linearizable")
	fs.BoolVar(&f.json, "json", false, "print the JSON report instead of the table")
	fs.StringVar(&f.out, "out", "", "also write the JSON report to this file")
	fs.StringVar(&f.plot, "plot", "", "write plots to PREFIX-throughput.png and PREFIX-latency.png")
	fs.StringVar(&f.binary, "chorus-binary", "", "chorus executable that --start runs (default: this one)")
	fs.IntVar(&f.portOffset, "port-offset", 0, portOffsetUsage)
	_ = fs.MarkHidden("chorus-binary")
	f.conn.register(fs)
}

// config checks the workload flags and returns the run's Config and the
// Chorus request options.
func (f *workloadFlags) config() (bench.Config, []client.Option, error) {
	cfg := f.cfg
	cfg.Op, cfg.Distribution = bench.Op(f.op), bench.Distribution(f.dist)
	if cfg.Clients < 1 || cfg.Keys < 1 {
		return cfg, nil, usageError("--clients and --keys must be at least 1")
	}
	lo, hi, err := parseSizeRange(f.valueSize)
	if err != nil {
		return cfg, nil, usageError("--value-size %q: %v", f.valueSize, err)
	}
	cfg.ValueSize, cfg.ValueSizeMax = lo, hi
	if err := f.check(cfg); err != nil {
		return cfg, nil, err
	}
	if err := configError(cfg.Validate()); err != nil {
		return cfg, nil, err
	}
	if err := checkQuorum(client.Quorum{N: f.n, R: f.r, W: f.w}); err != nil {
		return cfg, nil, err
	}
	opts := []client.Option{client.WithN(f.n), client.WithR(f.r), client.WithW(f.w)}
	if f.noSync {
		opts = append(opts, client.NotDurable())
	}
	return cfg, opts, nil
}

// check validates the workload flags with messages that name them;
// bench.Config.Validate would name its Go fields instead.
func (f *workloadFlags) check(cfg bench.Config) error {
	switch {
	case !slices.Contains(bench.Ops(), f.op):
		return usageError("--op: unknown workload %q (%s)", f.op, strings.Join(bench.Ops(), ", "))
	case f.dist != "" && !slices.Contains(bench.Distributions(), f.dist):
		return usageError("--distribution: unknown distribution %q (%s)", f.dist, strings.Join(bench.Distributions(), ", "))
	case !(cfg.Theta > 0 && cfg.Theta <= 100):
		return usageError("--theta must be above 0 and at most 100, got %v", cfg.Theta)
	case !(cfg.ReadRatio >= 0 && cfg.ReadRatio <= 1):
		return usageError("--read-ratio must be between 0 and 1, got %v", cfg.ReadRatio)
	case !(cfg.Rate >= 0) || math.IsInf(cfg.Rate, 1):
		return usageError("--rate must be a finite number of operations per second, at least 0, got %v", cfg.Rate)
	case cfg.Duration < 0 || cfg.Ops < 0 || cfg.Warmup < 0:
		return usageError("--duration, --ops and --warmup must not be negative")
	case cfg.Duration == 0 && cfg.Ops == 0:
		return usageError("--duration 0 needs --ops: a run must end")
	}
	return nil
}

// parseSizeRange parses "N" or "MIN-MAX" (bytes, MIN <= MAX).
func parseSizeRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = strconv.Atoi(strings.TrimSpace(a)); err != nil || lo < 0 {
		return 0, 0, errors.New("want a size in bytes (100) or a range (100-1000)")
	}
	hi = lo
	if isRange {
		if hi, err = strconv.Atoi(strings.TrimSpace(b)); err != nil || hi < lo {
			return 0, 0, errors.New("want a range MIN-MAX with MIN <= MAX")
		}
	}
	return lo, hi, nil
}

func (f *benchFlags) run(cmd *cobra.Command, e *env) error {
	cfg, opts, err := f.config()
	if err != nil {
		return err
	}
	if f.target != "chorus" && f.target != "etcd" {
		return usageError("--target %q: want chorus or etcd", f.target)
	}
	if f.target == "etcd" && (f.n != 0 || f.r != 0 || f.w != 0 || f.noSync) {
		return usageError("--n, --r, --w and --no-sync apply to --target chorus only")
	}
	// --insecure is let through: scripts set CHORUS_INSECURE for every
	// command, and plaintext is what --start and etcd speak anyway.
	if (f.target == "etcd" || f.start) && (f.conn.certsDir != "" || f.conn.token != "") {
		return usageError("--certs-dir and --token apply to a running Chorus cluster only (--target chorus without --start)")
	}
	ctx := cmd.Context()
	t, closeTarget, err := f.openTarget(ctx, e, opts)
	if err != nil {
		return err
	}
	defer closeTarget()
	cfg.Progress = e.stderr
	fmt.Fprintf(e.stderr, "bench: %s, %s (%s), %d clients, %d keys, %s-byte values, seed %d\n",
		f.target, cfg.Op, cfg.Describe(), cfg.Clients, cfg.Keys, f.valueSize, cfg.Seed)
	start := time.Now()
	res, runErr := bench.Run(ctx, t, cfg)
	if res == nil {
		return runErr
	}
	if err := f.report(e, res); err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("stopped after %s: %w", time.Since(start).Round(time.Millisecond), runErr)
	}
	return nil
}

// openTarget connects to (and with --start, first starts) the target. The
// returned func closes the client and stops what was started.
func (f *benchFlags) openTarget(ctx context.Context, e *env, opts []client.Option) (bench.Target, func(), error) {
	var t bench.Target
	var stop func() error
	var err error
	switch {
	case f.target == "etcd" && f.start:
		_, t, stop, err = startEtcd(ctx, e, f.serializable, f.portOffset)
	case f.start:
		var c *client.Client
		if _, c, stop, err = startChorus(ctx, e, f.binary, f.portOffset); err == nil {
			t = bench.NewClientTarget(c, opts...)
		}
	case f.target == "etcd":
		t, stop, err = f.dialEtcd(ctx)
	default:
		t, stop, err = f.dialChorus(ctx, opts)
	}
	if err != nil {
		return nil, nil, err
	}
	return t, func() {
		if err := stop(); err != nil {
			fmt.Fprintf(e.stderr, "bench: %v\n", err)
		}
	}, nil
}

// dialEtcd connects to the etcd members of --endpoints (default: the
// --start ports).
func (f *benchFlags) dialEtcd(ctx context.Context) (bench.Target, func() error, error) {
	tc := etcdtarget.DefaultConfig()
	if len(f.endpoints) > 0 {
		tc.Endpoints = f.endpoints
	}
	tc.Serializable = f.serializable
	if err := tc.Validate(); err != nil {
		return nil, nil, usageError("%v", err)
	}
	t, err := etcdtarget.New(ctx, tc)
	if err != nil {
		return nil, nil, err
	}
	return t, t.Close, nil
}

// dialChorus connects to the Chorus nodes of --endpoints (default: the
// demo's first node).
func (f *benchFlags) dialChorus(ctx context.Context, opts []client.Option) (bench.Target, func() error, error) {
	cfg := client.DefaultConfig()
	cfg.Endpoints = f.endpoints
	if len(cfg.Endpoints) == 0 {
		cfg.Endpoints = []string{"127.0.0.1:9090"}
	}
	if err := f.conn.clientConfig(&cfg); err != nil {
		return nil, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, usageError("%v", err)
	}
	c, err := client.New(ctx, cfg)
	if err != nil {
		return nil, nil, plainError(err, cfg.Endpoints)
	}
	return bench.NewClientTarget(c, opts...), c.Close, nil
}

// report prints the table or JSON, and writes --out and --plot.
func (f *benchFlags) report(e *env, res *bench.Result) error {
	var js bytes.Buffer
	if err := bench.WriteJSON(&js, res); err != nil {
		return err
	}
	if f.out != "" {
		if err := os.WriteFile(f.out, js.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if f.plot != "" {
		files, err := plots.Run(f.plot, f.target, res)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "bench: plots in %s\n", strings.Join(files, ", "))
	}
	if e.jsonOutput() {
		_, err := e.stdout.Write(js.Bytes())
		return err
	}
	return bench.WriteTable(e.stdout, res)
}
