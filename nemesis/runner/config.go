package runner

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/chorusdb/chorus/nemesis"
	"github.com/chorusdb/chorus/nemesis/compose"
	"github.com/chorusdb/chorus/nemesis/inject"
)

// Config configures a run. Start from DefaultConfig.
type Config struct {
	// Bin is the chorus executable the nodes run. Empty: this one.
	Bin string
	// Dir receives the history (history.jsonl), the report (report.json,
	// report.txt) and the nodes' data and logs (cluster/). Required.
	Dir string
	// Nodes is the cluster's size. Default 5.
	Nodes int
	// FirstHost is the address of node 0; node i gets the i-th address
	// after it (nodes joined by membership faults too). Default
	// 127.0.0.2.
	FirstHost string
	// PortBase places node i's HTTP API on PortBase+i, its client gRPC on
	// PortBase+1000+i, its peer port on PortBase+2000+i and gossip on
	// PortBase+3000+i. Default 20000: below the range the kernel picks
	// outgoing ports from (32768-60999 on Linux), so no connection holds one.
	PortBase int
	// Duration is how long the workloads run, faults included; the heal
	// and the convergence wait come after. Default 60 s. Unused when
	// Cycles is set.
	Duration time.Duration
	// Cycles, when positive, runs that many faults one after another
	// instead of a plan for Duration: each is preceded by its quiet, held,
	// healed, and followed by a probe that waits until the keys written
	// around it agree on their replicas, so that every fault gets its own
	// convergence time.
	Cycles int
	// HoldMin-HoldMax and QuietMin-QuietMax bound how long a fault lasts
	// and the quiet before the next. Zero: the schedule's defaults (3-8 s
	// and 2-5 s).
	HoldMin, HoldMax, QuietMin, QuietMax time.Duration
	// Seed drives the fault plan and the workloads.
	Seed int64
	// Workloads run side by side, ClientsPerWorkload clients each.
	// Default all.
	Workloads          []string
	ClientsPerWorkload int
	// Faults are the kinds the plan draws from. Default all.
	Faults []inject.Kind
	// N, R and W are the nodes' defaults. Default 3, 2, 2.
	N, R, W int
	// RequestTimeout bounds each client request. Default 2 s.
	RequestTimeout time.Duration
	// ConvergeTimeout bounds the wait for the replicas to agree after the
	// heal. Default 60 s.
	ConvergeTimeout time.Duration
	// TombstoneGrace is the nodes' --tombstone-grace: short, so that
	// deletes are collected during the run and a resurrection after
	// collection can show, yet longer than a fault and a hint's delivery
	// after it, since hints older than the grace are dropped (they could
	// bring back a collected delete). Default 45 s.
	TombstoneGrace time.Duration
	// Check tunes the checker.
	Check nemesis.Config
	// Log receives progress lines. Default io.Discard.
	Log io.Writer
	// Compose, when set, runs the test against the docker-compose cluster
	// it describes instead of node processes (nemesis/compose): Nodes must
	// be its number of services, and Bin, FirstHost and PortBase are
	// unused. Its Env and Log are set by Run.
	Compose *compose.Config
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{Nodes: 5, FirstHost: "127.0.0.2", PortBase: 20000, Duration: time.Minute,
		Workloads: nemesis.Workloads, ClientsPerWorkload: 2, Faults: inject.Kinds, N: 3, R: 2, W: 2,
		RequestTimeout: 2 * time.Second, ConvergeTimeout: time.Minute, TombstoneGrace: 45 * time.Second,
		Check: nemesis.DefaultConfig(), Log: io.Discard}
}

// Validate reports what Run cannot use.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Dir == "" {
		bad("Dir: required")
	}
	if c.Nodes < 3 {
		bad("Nodes %d: at least 3", c.Nodes)
	}
	if c.Cycles < 0 {
		bad("Cycles %d: must not be negative", c.Cycles)
	}
	if c.HoldMin < 0 || c.HoldMax < c.HoldMin || c.QuietMin < 0 || c.QuietMax < c.QuietMin {
		bad("hold %v-%v, quiet %v-%v: want 0 <= min <= max", c.HoldMin, c.HoldMax, c.QuietMin, c.QuietMax)
	}
	if (c.Duration <= 0 && c.Cycles == 0) || c.RequestTimeout <= 0 || c.ConvergeTimeout <= 0 || c.TombstoneGrace < time.Second {
		bad("Duration %v, RequestTimeout %v, ConvergeTimeout %v must be positive, TombstoneGrace %v at least 1s",
			c.Duration, c.RequestTimeout, c.ConvergeTimeout, c.TombstoneGrace)
	}
	if c.N < 1 || c.N > c.Nodes || c.R < 1 || c.R > c.N || c.W < 1 || c.W > c.N {
		bad("N=%d R=%d W=%d: want 1 <= R, W <= N <= Nodes (%d)", c.N, c.R, c.W, c.Nodes)
	}
	if len(c.Workloads) == 0 || c.ClientsPerWorkload < 1 {
		bad("%d workloads with %d clients each: want at least one of each", len(c.Workloads), c.ClientsPerWorkload)
	}
	for _, w := range c.Workloads {
		if !slices.Contains(nemesis.Workloads, w) {
			bad("workload %q: want one of %v", w, nemesis.Workloads)
		}
	}
	for _, k := range c.Faults {
		if _, err := inject.ParseKind(string(k)); err != nil {
			bad("%v", err)
		}
	}
	if c.PortBase < 1024 || c.PortBase+3000+maxNodes(c) > 65535 {
		bad("PortBase %d: its ports must lie in 1024-65535", c.PortBase)
	}
	if err := c.Check.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Compose != nil {
		errs = append(errs, c.Compose.Validate())
		if c.Nodes != len(c.Compose.Services) {
			bad("Nodes %d: the compose cluster has %d nodes", c.Nodes, len(c.Compose.Services))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	return nil
}

// maxNodes is how many nodes a run may start: the cluster and one per
// membership fault, at most one every two seconds or one per cycle.
func maxNodes(c Config) int {
	if c.Cycles > 0 {
		return c.Nodes + c.Cycles + 1
	}
	return c.Nodes + int(c.Duration/(2*time.Second)) + 1
}
