package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/plots"
	"github.com/chorusdb/chorus/client"
)

const failoverLong = `Write under load while one node dies and comes back, on a local 3-node
Chorus cluster (N=3, W=2, durable) and a local 3-member etcd, one after
another: --clients clients put 100-byte values for --duration; at --kill-at
one node gets SIGKILL, at --restart-at it starts again on its data.

The report gives, per target, the write rate before the kill, while the node
was down and after the restart, the longest stretch of 100 ms steps without
a successful write, the failed writes, and how long after the restart the
rate was back to 90% of its rate before the kill for the rest of the run. With --out DIR the JSON and
failover.png (writes per second over time) are written to DIR.`

type failoverFlags struct {
	portOffset int
	cfg        bench.FailoverConfig
	targets    []string
	etcdVictim string
	out        string
	binary     string
}

func newBenchFailoverCmd(e *env) *cobra.Command {
	f := &failoverFlags{cfg: bench.DefaultFailoverConfig()}
	cmd := &cobra.Command{
		Use:   "failover",
		Short: "Kill -9 one node of Chorus and of etcd under write load, restart it, and compare how writes fared",
		Long:  failoverLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return f.run(cmd.Context(), e) },
	}
	f.addFlags(cmd.Flags())
	return cmd
}

// addFlags defines the command's flags on fs.
func (f *failoverFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&f.targets, "targets", []string{"chorus", "etcd"}, "targets to run, in order: chorus, etcd")
	fs.IntVar(&f.cfg.Clients, "clients", f.cfg.Clients, "concurrent closed-loop writers")
	fs.IntVar(&f.cfg.Keys, "keys", f.cfg.Keys, "size of the key space")
	fs.DurationVar(&f.cfg.Duration, "duration", f.cfg.Duration, "length of each run")
	fs.DurationVar(&f.cfg.KillAt, "kill-at", f.cfg.KillAt, "when the node is killed, from the start of the run")
	fs.DurationVar(&f.cfg.RestartAt, "restart-at", f.cfg.RestartAt, "when it starts again")
	fs.StringVar(&f.etcdVictim, "etcd-victim", "leader", "which etcd member dies: leader or follower")
	fs.StringVar(&f.out, "out", "", "directory for failover.json and failover.png")
	fs.StringVar(&f.binary, "chorus-binary", "", "chorus executable to run the nodes (default: this one)")
	fs.IntVar(&f.portOffset, "port-offset", 0, portOffsetUsage)
	_ = fs.MarkHidden("chorus-binary")
}

func (f *failoverFlags) validate() error {
	for _, t := range f.targets {
		if t != "chorus" && t != "etcd" {
			return usageError("--targets: %q is not chorus or etcd", t)
		}
	}
	if len(f.targets) == 0 {
		return usageError("--targets: want chorus, etcd or both")
	}
	if f.etcdVictim != "leader" && f.etcdVictim != "follower" {
		return usageError("--etcd-victim %q: want leader or follower", f.etcdVictim)
	}
	c := f.cfg
	switch {
	case c.Clients < 1 || c.Keys < 1:
		return usageError("--clients and --keys must be at least 1, got %d and %d", c.Clients, c.Keys)
	case !(0 < c.KillAt && c.KillAt < c.RestartAt && c.RestartAt < c.Duration):
		return usageError("want 0 < --kill-at (%v) < --restart-at (%v) < --duration (%v)", c.KillAt, c.RestartAt, c.Duration)
	}
	return configError(f.cfg.Validate())
}

func (f *failoverFlags) run(ctx context.Context, e *env) error {
	if err := f.validate(); err != nil {
		return err
	}
	f.cfg.Progress = e.stderr
	var runs []*bench.FailoverRun
	for _, t := range f.targets {
		measure := map[string]func(context.Context, *env) (*bench.FailoverRun, error){"chorus": f.runChorus, "etcd": f.runEtcd}[t]
		r, err := measure(ctx, e)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	if err := printTableOrJSON(e, runs, func() error { return bench.WriteFailoverTable(e.stdout, f.cfg, runs) }); err != nil || f.out == "" {
		return err
	}
	return writeOut(f.out, map[string]func(string) error{
		"failover.json": jsonFile(runs),
		"failover.png":  func(path string) error { return plots.Failover(path, f.cfg, runs) },
	})
}

func (f *failoverFlags) runChorus(ctx context.Context, e *env) (*bench.FailoverRun, error) {
	pc, c, stop, err := startChorus(ctx, e, f.binary, f.portOffset)
	if err != nil {
		return nil, err
	}
	defer stop()
	const victim = 2
	v := bench.Victim{Name: fmt.Sprintf("node%d", victim), Kill: func() error { return pc.Kill(victim) },
		Restart: func(context.Context) error { return pc.Restart(victim) }}
	return bench.Failover(ctx, bench.NewClientTarget(c, client.WithN(3), client.WithW(2)), "chorus", v, f.cfg)
}

func (f *failoverFlags) runEtcd(ctx context.Context, e *env) (*bench.FailoverRun, error) {
	ec, t, stop, err := startEtcd(ctx, e, false, f.portOffset)
	if err != nil {
		return nil, err
	}
	defer stop()
	victim, err := ec.Leader(ctx)
	if err != nil {
		return nil, err
	}
	if f.etcdVictim == "follower" {
		victim = (victim + 1) % len(ec.Endpoints())
	}
	v := bench.Victim{Name: fmt.Sprintf("etcd%d (%s)", victim, f.etcdVictim), Kill: func() error { return ec.Kill(victim) },
		Restart: func(ctx context.Context) error { return ec.Restart(ctx, victim) }}
	return bench.Failover(ctx, t, "etcd", v, f.cfg)
}
