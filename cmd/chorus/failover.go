package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/chart"
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
	targets    []string
	clients    int
	keys       int
	duration   time.Duration
	killAt     time.Duration
	restartAt  time.Duration
	etcdVictim string
	out        string
	binary     string
}

// failoverRun is one target's failover measurement.
type failoverRun struct {
	Target      string        `json:"target"`
	Victim      string        `json:"victim"`
	KilledAt    time.Duration `json:"killed_at_ns"`
	RestartedAt time.Duration `json:"restarted_at_ns"`
	Before      float64       `json:"ops_per_sec_before"`
	Down        float64       `json:"ops_per_sec_down"`
	After       float64       `json:"ops_per_sec_after"`
	// Stall is the longest stretch without a successful write, from
	// StallAt; Recovery how long after the restart the rate was back to
	// 90% of Before for good: every second from then on (-1: never).
	Stall    time.Duration `json:"longest_stall_ns"`
	StallAt  time.Duration `json:"longest_stall_at_ns"`
	Recovery time.Duration `json:"recovery_ns"`
	Errors   int64         `json:"errors"`
	Report   *bench.Report `json:"report"`
	timeline []bench.Step
}

func newBenchFailoverCmd(e *env) *cobra.Command {
	f := &failoverFlags{}
	cmd := &cobra.Command{
		Use:   "failover",
		Short: "Kill -9 one node of Chorus and of etcd under write load, restart it, and compare how writes fared",
		Long:  failoverLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return f.run(cmd.Context(), e) },
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&f.targets, "targets", []string{"chorus", "etcd"}, "targets to run, in order: chorus, etcd")
	fs.IntVar(&f.clients, "clients", 16, "concurrent closed-loop writers")
	fs.IntVar(&f.keys, "keys", 10000, "size of the key space")
	fs.DurationVar(&f.duration, "duration", 30*time.Second, "length of each run")
	fs.DurationVar(&f.killAt, "kill-at", 8*time.Second, "when the node is killed, from the start of the run")
	fs.DurationVar(&f.restartAt, "restart-at", 18*time.Second, "when it starts again")
	fs.StringVar(&f.etcdVictim, "etcd-victim", "leader", "which etcd member dies: leader or follower")
	fs.StringVar(&f.out, "out", "", "directory for failover.json and failover.png")
	fs.StringVar(&f.binary, "chorus-binary", "", "chorus executable to run the nodes (default: this one)")
	_ = fs.MarkHidden("chorus-binary")
	return cmd
}

func (f *failoverFlags) validate() error {
	for _, t := range f.targets {
		if t != "chorus" && t != "etcd" {
			return usageError("--targets: %q is not chorus or etcd", t)
		}
	}
	if len(f.targets) == 0 || f.clients < 1 || f.keys < 1 {
		return usageError("--targets, --clients and --keys must not be empty or zero")
	}
	if !(0 < f.killAt && f.killAt < f.restartAt && f.restartAt < f.duration) {
		return usageError("want 0 < --kill-at (%v) < --restart-at (%v) < --duration (%v)", f.killAt, f.restartAt, f.duration)
	}
	if f.etcdVictim != "leader" && f.etcdVictim != "follower" {
		return usageError("--etcd-victim %q: want leader or follower", f.etcdVictim)
	}
	return nil
}

func (f *failoverFlags) run(ctx context.Context, e *env) error {
	if err := f.validate(); err != nil {
		return err
	}
	var runs []*failoverRun
	for _, t := range f.targets {
		var r *failoverRun
		var err error
		if t == "chorus" {
			r, err = f.runChorus(ctx, e)
		} else {
			r, err = f.runEtcd(ctx, e)
		}
		if err != nil {
			return fmt.Errorf("failover: %s: %w", t, err)
		}
		runs = append(runs, r)
	}
	if err := writeFailoverTable(e.stdout, f, runs); err != nil {
		return err
	}
	if f.out == "" {
		return nil
	}
	return f.writeOut(runs)
}

// killer is what a failover run does to its victim.
type killer struct {
	kill    func() error
	restart func(ctx context.Context) error
}

func (f *failoverFlags) runChorus(ctx context.Context, e *env) (*failoverRun, error) {
	pc, c, stop, err := startChorus(ctx, e, f.binary)
	if err != nil {
		return nil, err
	}
	defer stop()
	const victim = 2
	t := bench.NewClientTarget(c, client.WithN(3), client.WithW(2))
	return f.measure(ctx, e, "chorus", fmt.Sprintf("node%d", victim), t,
		killer{kill: func() error { return pc.Kill(victim) }, restart: func(context.Context) error { return pc.Restart(victim) }})
}

func (f *failoverFlags) runEtcd(ctx context.Context, e *env) (*failoverRun, error) {
	ec, t, stop, err := startEtcd(ctx, e, false)
	if err != nil {
		return nil, err
	}
	defer stop()
	leader, err := ec.Leader(ctx)
	if err != nil {
		return nil, err
	}
	victim := leader
	if f.etcdVictim == "follower" {
		victim = (leader + 1) % len(ec.Endpoints())
	}
	return f.measure(ctx, e, "etcd", fmt.Sprintf("etcd%d (%s)", victim, f.etcdVictim), t,
		killer{kill: func() error { return ec.Kill(victim) }, restart: func(ctx context.Context) error { return ec.Restart(ctx, victim) }})
}

// measure runs the write load against t, killing and restarting the
// victim on schedule, and summarizes the timeline.
func (f *failoverFlags) measure(ctx context.Context, e *env, target, victim string, t bench.Target, k killer) (*failoverRun, error) {
	cfg := bench.Config{Op: bench.OpPut, Clients: f.clients, Duration: f.duration, Keys: f.keys, ValueSize: 100,
		Seed: bench.DefaultSeed, Progress: e.stderr}
	fmt.Fprintf(e.stderr, "failover: %s, %d writers for %v; %s dies at %v and restarts at %v\n",
		target, f.clients, f.duration, victim, f.killAt, f.restartAt)
	run := &failoverRun{Target: target, Victim: victim}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var faultErr error
	wg.Go(func() {
		if !sleepFor(ctx, time.Until(start.Add(f.killAt))) {
			return
		}
		if faultErr = k.kill(); faultErr != nil {
			cancel()
			return
		}
		run.KilledAt = time.Since(start)
		fmt.Fprintf(e.stderr, "failover: killed %s at %v\n", victim, run.KilledAt.Round(time.Millisecond))
		if !sleepFor(ctx, time.Until(start.Add(f.restartAt))) {
			return
		}
		run.RestartedAt = time.Since(start)
		if faultErr = k.restart(ctx); faultErr != nil {
			cancel()
			return
		}
		fmt.Fprintf(e.stderr, "failover: restarted %s at %v\n", victim, run.RestartedAt.Round(time.Millisecond))
	})
	res, err := bench.Run(ctx, t, cfg)
	cancel()
	wg.Wait()
	if faultErr != nil {
		return nil, faultErr
	}
	if err != nil {
		return nil, err
	}
	run.summarize(res)
	return run, nil
}

// sleepFor sleeps d; it returns false if ctx ended first.
func sleepFor(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// summarize fills the rates, the longest stall and the recovery time from
// the run's timeline.
func (r *failoverRun) summarize(res *bench.Result) {
	r.Report, r.timeline = bench.NewReport(res), res.Timeline
	for _, s := range res.Ops {
		r.Errors += s.Errors
	}
	r.Stall, r.StallAt = res.LongestStall()
	step := bench.TimelineStep
	rate := func(from, to time.Duration) float64 {
		var ok int64
		n := 0
		for i := int(from / step); i < int(to/step) && i < len(res.Timeline); i++ {
			ok += res.Timeline[i].OK
			n++
		}
		if n == 0 {
			return 0
		}
		return float64(ok) / (float64(n) * step.Seconds())
	}
	end := time.Duration(len(res.Timeline)) * step
	r.Before = rate(time.Second, r.KilledAt) // the first second warms up
	r.Down = rate(r.KilledAt+step, r.RestartedAt)
	// After the restart settles: from 2 s on, or from halfway to the end
	// in a run too short for that.
	afterFrom := r.RestartedAt + 2*time.Second
	if afterFrom > end-time.Second {
		afterFrom = r.RestartedAt + (end-r.RestartedAt)/2
	}
	r.After = rate(afterFrom, end)
	// Recovery: the first time after the restart from which every whole
	// second to the end ran at 90% of Before or more (a brief good second
	// in the middle of a slow stretch does not count).
	r.Recovery = -1
	for at := end - time.Second; at >= r.RestartedAt; at -= step {
		if rate(at, at+time.Second) < 0.9*r.Before {
			if next := at + step; next+time.Second <= end {
				r.Recovery = next - r.RestartedAt
			}
			break
		}
		r.Recovery = at - r.RestartedAt
	}
}

func writeFailoverTable(w io.Writer, f *failoverFlags, runs []*failoverRun) error {
	fmt.Fprintf(w, "\nfailover: %d writers, 100-byte durable puts, %v per run; kill at %v, restart at %v\n\n", f.clients, f.duration, f.killAt, f.restartAt)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tkilled\tputs/s before\twhile down\tafter restart\tlongest stall\tat\tfailed\tback to 90% for good\t")
	for _, r := range runs {
		rec := "never"
		if r.Recovery >= 0 {
			rec = r.Recovery.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.0f\t%v\t%v\t%d\t%s\t\n", r.Target, r.Victim, r.Before, r.Down, r.After,
			r.Stall, r.StallAt, r.Errors, rec)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nlongest stall: the longest run of 100 ms steps without a successful write, and when it began.")
	return err
}

func (f *failoverFlags) writeOut(runs []*failoverRun) error {
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(runs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(f.out, "failover.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	zero := 0.0
	var names []string
	l := chart.Lines{XLabel: "time (s)", YLabel: "successful writes per second", YMin: &zero}
	for _, r := range runs {
		ok, _ := timelineSeries(r.timeline)
		ok.Name = r.Target
		l.Series = append(l.Series, ok)
		names = append(names, r.Target)
	}
	l.Title = fmt.Sprintf("%s: one node killed at %v, restarted at %v", strings.Join(names, " and "), f.killAt, f.restartAt)
	return l.Save(filepath.Join(f.out, "failover.png"))
}
