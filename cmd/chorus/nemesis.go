package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chorusdb/chorus/nemesis"
	"github.com/chorusdb/chorus/nemesis/compose"
	"github.com/chorusdb/chorus/nemesis/inject"
	"github.com/chorusdb/chorus/nemesis/runner"
)

const nemesisLong = `Run a fault test of a real cluster on this machine and check what it did.

Starts --nodes chorus node processes of this binary, each on its own
loopback address (127.0.0.2 up) with TLS, runs the workloads against them
from concurrent clients for --duration while faults strike one at a time on
a plan drawn from --seed (kill -9 one node or a minority, SIGSTOP, network
partitions with iptables, a node's clock jumped, a full or slow disk under a
node's commit log, a node joining and leaving), heals every fault, waits for
the replicas to agree (reading each node's own copy, which repairs nothing),
and checks the history: acknowledged writes lost, set elements lost, values
never written, deletes undone, writes applied twice, replicas that
disagree; with availability per fault kind and the time to converge.

Writes DIR/history.jsonl (every operation and fault; replayable), DIR/report.json,
DIR/report.txt and DIR/timeline.png (operations per second with the faults
shaded), with --cycles DIR/convergence.png (each heal's convergence), and
prints the report. Partitions need iptables as root
(scripts/install-netfaults.sh); without them they are skipped, saying so.
Exit status 1 when the checker finds an anomaly. docs/nemesis.md explains the
output.

With --compose the test runs against the docker-compose cluster of
--compose-file instead (its five nodes, under project --compose-project, with
certificates and flags of its own; torn down at the end): kills are docker
kill, pauses docker pause, partitions docker network disconnect of the
minority (a bridge cannot be made so and is skipped), a node joining is the
spare service chorus-5. It needs Docker, docker-compose and the image
(scripts/docker-build.sh); exit status 2 without them.`

type nemesisFlags struct {
	cfg         runner.Config
	compose     bool
	composeCfg  compose.Config
	strictReads bool
	faults      []string
	out         string
	binary      string
	hold, quiet []time.Duration
	recheck     string
}

func newNemesisCmd(e *env) *cobra.Command {
	f := &nemesisFlags{cfg: runner.DefaultConfig(), composeCfg: compose.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "nemesis",
		Short: "Fault-test a local cluster of node processes and check the history for lost, phantom, resurrected and doubled writes",
		Long:  nemesisLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !f.compose && (cmd.Flags().Changed("compose-file") || cmd.Flags().Changed("compose-project")) {
				return usageError("--compose-file and --compose-project need --compose")
			}
			return f.run(cmd.Context(), e)
		},
	}
	f.addFlags(cmd.Flags())
	return cmd
}

func (f *nemesisFlags) addFlags(fs *pflag.FlagSet) {
	c := &f.cfg
	fs.IntVar(&c.Nodes, "nodes", c.Nodes, "node processes")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "how long the workloads run, faults included (unused with --cycles)")
	fs.IntVar(&c.Cycles, "cycles", 0, "run this many faults one after another, each followed by a wait until the keys written around it agree on their replicas (its convergence time), instead of --duration")
	fs.DurationSliceVar(&f.hold, "hold", nil, "MIN,MAX: how long a fault lasts (default 3s,8s)")
	fs.DurationSliceVar(&f.quiet, "quiet", nil, "MIN,MAX: the quiet before each fault (default 2s,5s)")
	fs.Int64Var(&c.Seed, "seed", 0, "seed of the fault plan and the workloads (0: from the time, printed)")
	fs.StringSliceVar(&c.Workloads, "workloads", c.Workloads, fmt.Sprintf("workloads to run (%v)", nemesis.Workloads))
	fs.IntVar(&c.ClientsPerWorkload, "clients", c.ClientsPerWorkload, "clients per workload")
	fs.StringSliceVar(&f.faults, "faults", kindNames(inject.Kinds), "faults to draw from (none: a run without faults)")
	fs.IntVar(&c.N, "n", c.N, "replicas N")
	fs.IntVar(&c.R, "r", c.R, "read quorum R")
	fs.IntVar(&c.W, "w", c.W, "write quorum W")
	fs.DurationVar(&c.ConvergeTimeout, "converge-timeout", c.ConvergeTimeout, "longest wait for the replicas to agree after the heal")
	fs.DurationVar(&c.Check.MaxConverge, "max-converge", 30*time.Second, "a slower convergence is an anomaly (0: report only)")
	fs.DurationVar(&c.Check.MaxWriteGap, "max-write-gap", 0, "a longer window without an acknowledged write at a healthy node is an anomaly (0: report only)")
	fs.DurationVar(&c.TombstoneGrace, "tombstone-grace", c.TombstoneGrace, "the nodes' tombstone grace (short, so that deletes are collected during the run)")
	fs.StringVar(&c.FirstHost, "first-host", c.FirstHost, "loopback address of node 0; node i gets the i-th address after it (two runs side by side need disjoint addresses and ports)")
	fs.IntVar(&c.PortBase, "port-base", c.PortBase, "node i serves HTTP on port-base+i, gRPC +1000, peers +2000, gossip +3000")
	fs.BoolVar(&f.strictReads, "strict-reads", false, "judge a read after an acknowledged delete that returns the value as a resurrection even under faults (sloppy quorum allows it)")
	fs.StringVar(&f.out, "out", "", "directory for the history, the report and the nodes' data (default: a new temporary directory)")
	fs.StringVar(&f.binary, "chorus-binary", "", "chorus executable to run the nodes (default: this one)")
	fs.StringVar(&f.recheck, "check", "", "check the history file of an earlier run (history.jsonl) with this binary's checker and the thresholds given, instead of running; with --out, write the report and timeline there")
	fs.BoolVar(&f.compose, "compose", false, "run against the docker-compose cluster (docker kill, pause, network disconnect) instead of node processes")
	fs.StringVar(&f.composeCfg.File, "compose-file", f.composeCfg.File, "compose file of --compose")
	fs.StringVar(&f.composeCfg.Project, "compose-project", f.composeCfg.Project, "compose project of --compose: its containers, network and volumes, removed at the end")
	_ = fs.MarkHidden("chorus-binary")
}

func kindNames(ks []inject.Kind) []string {
	var out []string
	for _, k := range ks {
		out = append(out, string(k))
	}
	return out
}

func (f *nemesisFlags) run(ctx context.Context, e *env) error {
	if f.recheck != "" {
		return f.checkHistory(e)
	}
	c := f.cfg
	c.Faults = nil
	for _, name := range f.faults {
		if name == "none" {
			continue
		}
		k, err := inject.ParseKind(name)
		if err != nil {
			return usageError("--faults: %v", err)
		}
		c.Faults = append(c.Faults, k)
	}
	for _, b := range []struct {
		name     string
		v        []time.Duration
		min, max *time.Duration
	}{{"--hold", f.hold, &c.HoldMin, &c.HoldMax}, {"--quiet", f.quiet, &c.QuietMin, &c.QuietMax}} {
		switch len(b.v) {
		case 0:
		case 2:
			*b.min, *b.max = b.v[0], b.v[1]
		default:
			return usageError("%s: want MIN,MAX (two durations), got %d", b.name, len(b.v))
		}
	}
	if c.Seed == 0 {
		c.Seed = time.Now().UnixNano() % 1_000_000_000
	}
	// A read after an acknowledged delete may be stale when R+W <= N, and
	// under faults with any R and W: sloppy quorum lets a write count
	// fallbacks, and a node back from a fault answers before its hints
	// arrive (DESIGN: R+W > N holds without failures). The final state
	// still judges every delete; --strict-reads judges reads too.
	c.Check.ReadsMayBeStale = !f.strictReads && (c.R+c.W <= c.N || len(c.Faults) > 0)
	c.Bin, c.Log = f.binary, e.stderr
	if f.compose {
		c.Compose = &f.composeCfg
	}
	c.Dir = f.out
	if c.Dir == "" {
		d, err := os.MkdirTemp("", "chorus-nemesis-")
		if err != nil {
			return err
		}
		c.Dir = d
	}
	if err := c.Validate(); err != nil {
		return usageError("%v", err)
	}
	length := c.Duration.String()
	if c.Cycles > 0 {
		length = fmt.Sprintf("%d fault cycles", c.Cycles)
	}
	where := "node processes"
	if c.Compose != nil {
		where = "docker-compose project " + c.Compose.Project
	}
	fmt.Fprintf(e.stderr, "nemesis: seed %d, %d nodes (%s), N=%d R=%d W=%d, %s, output in %s\n", c.Seed, c.Nodes, where, c.N, c.R, c.W, length, c.Dir)
	res, err := runner.Run(ctx, c)
	if errors.Is(err, compose.ErrUnavailable) || errors.Is(err, compose.ErrNoImage) || errors.Is(err, compose.ErrProjectInUse) {
		return &exitError{code: exitUsage, err: err}
	}
	if res != nil && res.Report != nil {
		if werr := res.Report.WriteText(e.stdout); werr != nil {
			return werr
		}
		replay := fmt.Sprintf("chorus nemesis --seed %d", c.Seed)
		if c.Compose != nil {
			replay += " --compose"
		}
		fmt.Fprintf(e.stdout, "history %s, report %s, timeline %s (replay: %s)\n", res.HistoryPath, res.ReportPath, res.TimelinePath, replay)
		if res.ConvergencePath != "" {
			fmt.Fprintf(e.stdout, "convergence after each heal %s\n", res.ConvergencePath)
		}
		if res.Report.Failed() {
			return &exitError{code: exitRuntime, err: fmt.Errorf("anomalies found (seed %d)", c.Seed)}
		}
	}
	return err
}

// checkHistory checks a recorded history again: the same file under a
// newer checker, or other thresholds.
func (f *nemesisFlags) checkHistory(e *env) error {
	file, err := os.Open(f.recheck)
	if err != nil {
		return usageError("--check: %v", err)
	}
	defer file.Close()
	h, err := nemesis.ReadHistory(file)
	if err != nil {
		return usageError("--check %s: %v", f.recheck, err)
	}
	cfg := f.cfg.Check
	cfg.ReadsMayBeStale = !f.strictReads && (f.cfg.R+f.cfg.W <= f.cfg.N || len(h.Faults) > 0)
	rep, err := nemesis.Check(h, cfg)
	if err != nil {
		return usageError("--check %s: %v", f.recheck, err)
	}
	if err := rep.WriteText(e.stdout); err != nil {
		return err
	}
	if f.out != "" {
		if err := writeCheck(f.out, h, rep, cfg.MaxConverge); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "report %s, timeline %s\n", filepath.Join(f.out, "report.json"), filepath.Join(f.out, "timeline.png"))
		if conv := filepath.Join(f.out, "convergence.png"); fileExists(conv) {
			fmt.Fprintf(e.stdout, "convergence after each heal %s\n", conv)
		}
	}
	if rep.Failed() {
		return &exitError{code: exitRuntime, err: fmt.Errorf("anomalies found in %s", f.recheck)}
	}
	return nil
}

// writeCheck writes a re-checked history's report (JSON and text), its
// timeline and, for a run of cycles, its convergence plot into dir.
func writeCheck(dir string, h *nemesis.History, rep *nemesis.Report, maxConverge time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, write := range map[string]func(io.Writer) error{"report.json": rep.EncodeJSON, "report.txt": rep.WriteText} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	title := fmt.Sprintf("chorus nemesis, seed %d (checked again)", h.Meta.Seed)
	if err := runner.DrawTimeline(filepath.Join(dir, "timeline.png"), title, h, 0); err != nil {
		return err
	}
	conv := filepath.Join(dir, "convergence.png")
	drawn, err := runner.DrawConvergence(conv, fmt.Sprintf("chorus nemesis, seed %d: each heal's convergence", h.Meta.Seed), h, maxConverge)
	if err == nil && !drawn {
		// A plot an earlier check left there is not this history's.
		if rerr := os.Remove(conv); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return rerr
		}
	}
	return err
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
