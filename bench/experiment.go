package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/chorusdb/chorus/client"
	"github.com/chorusdb/chorus/pbs"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/localcluster"
)

// Setting is one quorum configuration of an experiment.
type Setting struct{ N, R, W int }

func (s Setting) String() string { return fmt.Sprintf("N=%d R=%d W=%d", s.N, s.R, s.W) }

// Strict reports whether every read quorum meets every write quorum.
func (s Setting) Strict() bool { return s.R+s.W > s.N }

// DefaultSettings are the settings `chorus experiment quorum` sweeps by
// default: every R and W for N=3, and the corners and the majority of N=5.
func DefaultSettings() []Setting {
	var out []Setting
	for r := 1; r <= 3; r++ {
		for w := 1; w <= 3; w++ {
			out = append(out, Setting{3, r, w})
		}
	}
	return append(out, Setting{5, 1, 1}, Setting{5, 1, 5}, Setting{5, 5, 1}, Setting{5, 2, 2}, Setting{5, 3, 3})
}

// ExperimentConfig configures QuorumExperiment. Zero fields take the
// defaults documented on them.
type ExperimentConfig struct {
	// Settings are the quorum settings to measure, each on a fresh
	// cluster. Default DefaultSettings().
	Settings []Setting
	// Nodes is the size of each cluster. Default 5 (the 2|3 partition
	// needs five).
	Nodes int
	// Dir holds the clusters' data (a directory per setting, removed after
	// it). Empty means a temporary directory, removed at the end.
	Dir string
	// Load is the throughput and latency run of each setting; its Op,
	// Clients, Duration or Ops, Keys and ValueSize apply. Default: 50%
	// reads, 16 clients, 5 s, 1000 keys.
	Load Config
	// Durable makes writes sync on the replicas; the default (false)
	// measures the quorums without the disk.
	Durable bool
	// Staleness is the staleness measurement of each setting. Default
	// 1000 writes at deltas 0, 1, 2, 5, 10 and 20 ms.
	Staleness StalenessConfig
	// Trials is the number of Monte Carlo trials of each prediction.
	// Default 20000.
	Trials int
	// AvailabilityDuration is how long each availability measurement
	// sends requests (four per setting: one node down and a 2|3 partition,
	// each with sloppy and strict quorums). Default 1 s; negative skips
	// them.
	AvailabilityDuration time.Duration
	// Progress receives a line per step.
	Progress io.Writer
}

func (c ExperimentConfig) withDefaults() ExperimentConfig {
	if len(c.Settings) == 0 {
		c.Settings = DefaultSettings()
	}
	if c.Nodes == 0 {
		c.Nodes = 5
	}
	if c.Load.Op == "" {
		c.Load.Op, c.Load.ReadRatio = OpMixed, 0.5
	}
	if c.Load.Clients == 0 {
		c.Load.Clients = 16
	}
	if c.Load.Duration == 0 && c.Load.Ops == 0 {
		c.Load.Duration = 5 * time.Second
	}
	if c.Load.Keys == 0 {
		c.Load.Keys = 1000
	}
	if c.Staleness.Writes == 0 {
		c.Staleness.Writes = 1000
	}
	if c.Staleness.MaxK == 0 {
		c.Staleness.MaxK = 5
	}
	if len(c.Staleness.Deltas) == 0 {
		ms := time.Millisecond
		c.Staleness.Deltas = []time.Duration{0, ms, 2 * ms, 5 * ms, 10 * ms, 20 * ms}
	}
	if c.Trials == 0 {
		c.Trials = 20000
	}
	if c.AvailabilityDuration == 0 {
		c.AvailabilityDuration = time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// Validate reports settings that do not fit the cluster and an invalid
// Load or Staleness; errors wrap ErrInvalidConfig.
func (c ExperimentConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Nodes < 2 {
		errs = append(errs, fmt.Errorf("Nodes must be at least 2 (a writer and a reader), got %d", c.Nodes))
	}
	for _, s := range c.Settings {
		if s.N < 1 || s.N > c.Nodes || s.R < 1 || s.R > s.N || s.W < 1 || s.W > s.N {
			errs = append(errs, fmt.Errorf("setting %v: want 1 <= R, W <= N <= %d nodes", s, c.Nodes))
		}
	}
	if err := c.Load.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Staleness.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return nil
}

// SettingResult is what an experiment measured for one setting.
type SettingResult struct {
	Setting Setting `json:"-"`
	N       int     `json:"n"`
	R       int     `json:"r"`
	W       int     `json:"w"`
	// Strict is R+W > N.
	Strict bool `json:"strict"`
	// Load is the throughput and latency run.
	Load *Report `json:"load"`
	// Staleness is what reads after acknowledged writes saw; Predicted
	// is the WARS model's prediction of the same, from the one-way delays
	// the coordinators recorded during the measurement.
	Staleness *StalenessResult `json:"staleness"`
	Predicted []PredictedPoint `json:"predicted"`
	// Legs summarizes the one-way delays behind the prediction.
	Legs *LegQuantiles `json:"legs"`
	// Available holds the availability measurements (nil when skipped):
	// one node down and a 2|3 partition, with sloppy and strict quorums.
	Available []*Availability `json:"available,omitempty"`
}

// PredictedPoint is one point of a prediction, for JSON.
type PredictedPoint struct {
	DeltaMS    float64   `json:"delta_ms"`
	Consistent float64   `json:"consistent"`
	Behind     []float64 `json:"behind"`
}

// Consistent returns the measured and predicted P(consistent read) at
// delta d; ok is false when d was not measured.
func (r *SettingResult) Consistent(d time.Duration) (measured, predicted float64, ok bool) {
	p, ok := r.Staleness.At(d)
	if !ok {
		return 0, 0, false
	}
	for _, pp := range r.Predicted {
		if pp.DeltaMS == p.DeltaMS {
			predicted = pp.Consistent
		}
	}
	return p.Consistent, predicted, true
}

// Availability returns the measurement under fault f with strict or
// sloppy quorums, nil when it was not made.
func (r *SettingResult) Availability(f Fault, strict bool) *Availability {
	for _, a := range r.Available {
		if a.Fault == f && a.Strict == strict {
			return a
		}
	}
	return nil
}

// QuorumExperiment measures every setting of cfg, one after another,
// each on a fresh local cluster of cfg.Nodes nodes on loopback (real
// gRPC and gossip): throughput and latency under cfg.Load, then the
// staleness of reads through the other nodes after writes through the
// first, with the WARS prediction from the recorded one-way delays; then
// availability under faults on an in-memory cluster of the same size.
// It returns what it measured so far on error.
func QuorumExperiment(ctx context.Context, cfg ExperimentConfig) ([]*SettingResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Dir == "" {
		tmp, err := os.MkdirTemp("", "chorus-experiment-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(tmp)
		cfg.Dir = tmp
	}
	var out []*SettingResult
	for i, s := range cfg.Settings {
		fmt.Fprintf(cfg.Progress, "experiment: %d/%d %v\n", i+1, len(cfg.Settings), s)
		r, err := measureSetting(ctx, cfg, i, s)
		if err != nil {
			return out, fmt.Errorf("bench: %v: %w", s, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// measureSetting measures one setting.
func measureSetting(ctx context.Context, cfg ExperimentConfig, i int, s Setting) (*SettingResult, error) {
	res := &SettingResult{Setting: s, N: s.N, R: s.R, W: s.W, Strict: s.Strict()}
	dir := filepath.Join(cfg.Dir, fmt.Sprintf("setting-%d", i))
	defer os.RemoveAll(dir)
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: cfg.Nodes, Dir: dir, Logger: slog.New(slog.DiscardHandler),
		// A request may not ask for more replicas than the ring keeps.
		Configure: func(_ int, c *server.Config) { c.Ring.Replicas = max(c.Ring.Replicas, s.N) }})
	if err != nil {
		return nil, err
	}
	defer lc.Close()
	var eps []string
	for _, n := range lc.Nodes {
		eps = append(eps, n.Addrs().GRPC)
	}
	c, err := client.New(ctx, client.Config{Endpoints: eps})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	opts := []client.Option{client.WithN(s.N), client.WithR(s.R), client.WithW(s.W)}
	if !cfg.Durable {
		opts = append(opts, client.NotDurable())
	}

	load := cfg.Load
	load.Progress = cfg.Progress
	lr, err := Run(ctx, NewClientTarget(c, opts...), load)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	res.Load = NewReport(lr)

	for _, n := range lc.Nodes {
		n.ResetLegs()
	}
	st := cfg.Staleness
	st.Progress = cfg.Progress
	store := NewClientVersionStore(c, eps[0], eps[1:], opts...)
	if res.Staleness, err = MeasureStaleness(ctx, store, st); err != nil {
		return nil, fmt.Errorf("staleness: %w", err)
	}
	if res.Predicted, res.Legs, err = predict(cfg, s, lc, res.Staleness); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Progress, "experiment: %v: %.0f ops/s, P(consistent at 0) measured %.4f, predicted %.4f\n",
		s, res.Load.TotalOpsPerSec(), res.Staleness.Points[0].Consistent, res.Predicted[0].Consistent)
	if cfg.AvailabilityDuration < 0 {
		return res, nil
	}
	for _, f := range []Fault{OneDown, Partition} {
		for _, strict := range []bool{false, true} {
			a, err := MeasureAvailability(ctx, AvailabilityConfig{Nodes: cfg.Nodes, N: s.N, R: s.R, W: s.W, Strict: strict,
				Fault: f, Duration: cfg.AvailabilityDuration, Seed: int64(i + 1)})
			if err != nil {
				return nil, fmt.Errorf("availability: %w", err)
			}
			res.Available = append(res.Available, a)
		}
	}
	return res, nil
}

// predict runs the WARS model on the legs the cluster recorded during
// the staleness measurement (see PredictStaleness).
func predict(cfg ExperimentConfig, s Setting, lc *localcluster.Cluster, st *StalenessResult) ([]PredictedPoint, *LegQuantiles, error) {
	var readers []server.LegSamples
	for _, n := range lc.Nodes[1:] {
		readers = append(readers, n.Legs())
	}
	return PredictStaleness(PredictConfig{Setting: s, Nodes: cfg.Nodes, Writer: lc.Nodes[0].Legs(), Readers: readers,
		Deltas: cfg.Staleness.Deltas, Gap: st.Gap, Trials: cfg.Trials, MaxK: cfg.Staleness.MaxK})
}

// PredictConfig is the input of PredictStaleness.
type PredictConfig struct {
	Setting Setting
	// Nodes is the cluster size.
	Nodes int
	// Writer holds the legs the writing coordinator recorded, Readers
	// those of the reading coordinators (server.Node.Legs, or GET
	// /v1/legs).
	Writer  server.LegSamples
	Readers []server.LegSamples
	// Deltas, Gap and MaxK are the staleness measurement's; Trials the
	// Monte Carlo trials.
	Deltas []time.Duration
	Gap    time.Duration
	Trials int
	MaxK   int
}

// PredictStaleness runs the WARS model (package pbs) on recorded legs:
// write and ack legs from the writer, read and response legs from the
// readers. The model places the coordinators as the cluster does (any of
// Nodes nodes, reaching its own copy without the network, the writer's
// copy counting once synced: its L samples) and adds the
// client's hops before each read, the ack back to the client and the read
// out to its coordinator, drawn from the ack and read legs (gRPC hops on
// the same network). It also returns the legs' quantiles.
func PredictStaleness(pc PredictConfig) ([]PredictedPoint, *LegQuantiles, error) {
	w, a := pc.Writer.W, pc.Writer.A
	var r, sr []time.Duration
	for _, l := range pc.Readers {
		r, sr = append(r, l.R...), append(sr, l.S...)
	}
	var legs pbs.Legs
	var quantiles LegQuantiles
	for _, leg := range []struct {
		samples []time.Duration
		into    *pbs.Distribution
		q       *[3]float64
	}{{w, &legs.W, &quantiles.W}, {a, &legs.A, &quantiles.A}, {r, &legs.R, &quantiles.R}, {sr, &legs.S, &quantiles.S}} {
		e, err := pbs.NewEmpirical(leg.samples)
		if err != nil {
			// No coordinator waited on a peer (N=1): every copy is local.
			*leg.into = pbs.Constant(0)
			continue
		}
		*leg.into = e
		for i, q := range []float64{0.5, 0.99, 0.999} {
			leg.q[i] = float64(e.Quantile(q)) / float64(time.Millisecond)
		}
		quantiles.Samples += e.Len()
	}
	var localAck pbs.Distribution
	if e, err := pbs.NewEmpirical(pc.Writer.L); err == nil {
		localAck = e
		for i, q := range []float64{0.5, 0.99, 0.999} {
			quantiles.L[i] = float64(e.Quantile(q)) / float64(time.Millisecond)
		}
	}
	s := pc.Setting
	p, err := pbs.Predict(pbs.Config{Quorum: pbs.Quorum{N: s.N, R: s.R, W: s.W}, Legs: legs, Nodes: max(pc.Nodes, 2, s.N),
		LocalAck: localAck, ClientAck: legs.A, ClientRead: legs.R, Deltas: pc.Deltas, Trials: pc.Trials, Seed: 1,
		Gap: pbs.Constant(pc.Gap), MaxK: pc.MaxK})
	if err != nil {
		return nil, nil, fmt.Errorf("bench: prediction: %w", err)
	}
	var out []PredictedPoint
	for _, pt := range p.Points {
		out = append(out, PredictedPoint{DeltaMS: float64(pt.Delta) / float64(time.Millisecond), Consistent: pt.Consistent, Behind: pt.Behind})
	}
	return out, &quantiles, nil
}

// LegQuantiles are the p50, p99 and p99.9 (in ms) of the one-way delays
// a setting's prediction used, and how many samples they came from.
type LegQuantiles struct {
	W       [3]float64 `json:"w_ms"`
	A       [3]float64 `json:"a_ms"`
	R       [3]float64 `json:"r_ms"`
	S       [3]float64 `json:"s_ms"`
	L       [3]float64 `json:"l_ms"` // the writer's own copy's ack
	Samples int        `json:"samples"`
}
