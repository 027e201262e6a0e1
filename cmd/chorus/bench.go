package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/client"
)

const benchLong = `Run a closed-loop load against a cluster and print latency percentiles.

--clients goroutines each send their next request as soon as the last one
answered, for --duration (or until --ops operations), on keys key-%08d
chosen uniformly among --keys keys (seeded by --seed). A get or mixed run
first writes every key once (the "preload" row). Progress goes to stderr
once per second; the table (or, with --json, the JSON report) to stdout.
Errors are counted by kind and printed under the table, not fatal.`

// benchFlags are the flags of chorus bench.
type benchFlags struct {
	endpoints []string
	cfg       bench.Config
	op        string
	n, r, w   int
	noSync    bool
	json      bool
	out       string
}

func newBenchCmd(e *env) *cobra.Command {
	f := &benchFlags{cfg: bench.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark a cluster (closed-loop load, latency percentiles)",
		Long:  benchLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return f.run(cmd, e) },
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&f.endpoints, "endpoints", []string{"127.0.0.1:9090"},
		"gRPC addresses (host:port, comma separated) of any cluster nodes")
	fs.IntVar(&f.cfg.Clients, "clients", bench.DefaultClients, "concurrent closed-loop clients")
	fs.DurationVar(&f.cfg.Duration, "duration", bench.DefaultDuration, "measured duration of the run (0: until --ops)")
	fs.Int64Var(&f.cfg.Ops, "ops", 0, "stop after this many operations (0: until --duration)")
	fs.StringVar(&f.op, "op", string(bench.OpPut), "operation mix: put, get or mixed")
	fs.Float64Var(&f.cfg.ReadRatio, "read-ratio", bench.DefaultReadRatio, "fraction of reads of --op mixed")
	fs.IntVar(&f.cfg.Keys, "keys", bench.DefaultKeys, "size of the key space")
	fs.IntVar(&f.cfg.ValueSize, "value-size", bench.DefaultValueSize, "bytes per written value")
	fs.IntVar(&f.n, "n", 0, "replicas N (0: the server's default)")
	fs.IntVar(&f.r, "r", 0, "read quorum R (0: the server's default)")
	fs.IntVar(&f.w, "w", 0, "write quorum W (0: the server's default)")
	fs.BoolVar(&f.noSync, "no-sync", false, "do not sync writes to disk on the replicas (not durable)")
	fs.Int64Var(&f.cfg.Seed, "seed", bench.DefaultSeed, "seed of the key choice")
	fs.DurationVar(&f.cfg.Warmup, "warmup", 0, "run this long before measuring")
	fs.BoolVar(&f.cfg.NoPreload, "no-preload", false, "skip writing every key once before a get or mixed run")
	fs.BoolVar(&f.json, "json", false, "print the JSON report instead of the table")
	fs.StringVar(&f.out, "out", "", "also write the JSON report to this file")
	return cmd
}

// config checks the flags and returns the run's Config and client options.
func (f *benchFlags) config() (bench.Config, []client.Option, error) {
	cfg := f.cfg
	cfg.Op = bench.Op(f.op)
	if cfg.Clients < 1 || cfg.Keys < 1 || cfg.ValueSize < 0 {
		return cfg, nil, usageError("--clients and --keys must be at least 1, --value-size not negative")
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, usageError("%v", strings.TrimPrefix(err.Error(), bench.ErrInvalidConfig.Error()+": "))
	}
	q := client.Quorum{N: f.n, R: f.r, W: f.w, NotDurable: f.noSync}
	if err := q.Validate(); err != nil {
		return cfg, nil, usageError("%v", err)
	}
	opts := []client.Option{client.WithN(f.n), client.WithR(f.r), client.WithW(f.w)}
	if f.noSync {
		opts = append(opts, client.NotDurable())
	}
	return cfg, opts, nil
}

func (f *benchFlags) run(cmd *cobra.Command, e *env) error {
	cfg, opts, err := f.config()
	if err != nil {
		return err
	}
	ccfg := client.DefaultConfig()
	ccfg.Endpoints = f.endpoints
	if err := ccfg.Validate(); err != nil {
		return usageError("%v", err)
	}
	ctx := cmd.Context()
	c, err := client.New(ctx, ccfg)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg.Progress = e.stderr
	fmt.Fprintf(e.stderr, "bench: %s, %d clients, %d keys, %d-byte values, seed %d\n",
		cfg.Op, cfg.Clients, cfg.Keys, cfg.ValueSize, cfg.Seed)
	start := time.Now()
	res, runErr := bench.Run(ctx, bench.NewClientTarget(c, opts...), cfg)
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

// report prints the table or JSON and writes --out.
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
	if f.json {
		_, err := e.stdout.Write(js.Bytes())
		return err
	}
	return bench.WriteTable(e.stdout, res)
}
