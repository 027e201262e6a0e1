package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/chorusdb/chorus/client"
	"github.com/chorusdb/chorus/server"
)

// ClusterStalenessConfig configures MeasureClusterStaleness. Zero fields
// take the defaults documented on them.
type ClusterStalenessConfig struct {
	// Setting is the quorum of every write and read. Default N=3 R=1 W=1.
	Setting Setting
	// NotDurable makes the replicas skip the sync of each write.
	NotDurable bool
	// Staleness is the measurement; see StalenessConfig. Its KeyPrefix
	// defaults to one that differs on every run.
	Staleness StalenessConfig
	// Trials is the number of Monte Carlo trials of the prediction.
	// Default 20000.
	Trials int
	// LegsTimeout bounds the fetch of each node's recorded delays.
	// Default 10 s.
	LegsTimeout time.Duration
	// GetJSON reads path from the HTTP API of the node at httpAddr into v
	// (so that a TLS cluster is read with the caller's certificates or
	// token). Nil reads over plain HTTP.
	GetJSON func(ctx context.Context, httpAddr, path string, v any) error
}

// DefaultClusterStalenessConfig returns the defaults documented on
// ClusterStalenessConfig.
func DefaultClusterStalenessConfig() ClusterStalenessConfig {
	return ClusterStalenessConfig{Setting: Setting{N: 3, R: 1, W: 1}, Trials: 20000, LegsTimeout: 10 * time.Second}
}

func (c ClusterStalenessConfig) withDefaults() ClusterStalenessConfig {
	d := DefaultClusterStalenessConfig()
	if c.Setting == (Setting{}) {
		c.Setting = d.Setting
	}
	c.Trials = orInt(c.Trials, d.Trials)
	if c.LegsTimeout == 0 {
		c.LegsTimeout = d.LegsTimeout
	}
	if c.Staleness.KeyPrefix == "" {
		// Fresh keys on every run, so that a run never reads an earlier
		// run's versions of its keys.
		c.Staleness.KeyPrefix = fmt.Sprintf("staleness-%d-", time.Now().UnixNano())
	}
	c.Staleness = c.Staleness.withDefaults()
	return c
}

// Validate reports a quorum that is not 1 <= R, W <= N, negative trials
// and an invalid Staleness. Errors wrap ErrInvalidConfig.
func (c ClusterStalenessConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if s := c.Setting; s.N < 1 || s.R < 1 || s.W < 1 || s.R > s.N || s.W > s.N {
		errs = append(errs, fmt.Errorf("quorum %v: want 1 <= R, W <= N", s))
	}
	if c.Trials < 0 || c.LegsTimeout < 0 {
		errs = append(errs, fmt.Errorf("trials (%d) and legs timeout (%v) must not be negative", c.Trials, c.LegsTimeout))
	}
	if err := c.Staleness.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// ClusterStaleness is the staleness of a running cluster, measured and
// predicted.
type ClusterStaleness struct {
	Setting  Setting          `json:"-"`
	N        int              `json:"n"`
	R        int              `json:"r"`
	W        int              `json:"w"`
	Measured *StalenessResult `json:"measured"`
	// Predicted and Legs are the WARS prediction and the delays behind
	// it; nil when the delays could not be fetched (see PredictErr).
	Predicted  []PredictedPoint `json:"predicted"`
	Legs       *LegQuantiles    `json:"legs"`
	PredictErr error            `json:"-"`
}

// MeasureClusterStaleness measures staleness on the running cluster c
// reaches: writes through the first live active node (by ID), reads
// through the others, then predicts the same from the one-way delays
// the nodes recorded (GET /v1/legs on each). The nodes must share a
// clock for those delays to mean anything, as a local cluster does. A
// failed prediction is reported in PredictErr, not as an error.
func MeasureClusterStaleness(ctx context.Context, c *client.Client, cfg ClusterStalenessConfig) (*ClusterStaleness, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	info, err := c.Cluster(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: staleness: %w", err)
	}
	writer, readers, err := WriterAndReaders(info.Members, cfg.Setting.N)
	if err != nil {
		return nil, err
	}
	s := cfg.Setting
	fmt.Fprintf(cfg.Staleness.Progress, "staleness: %v, writes through %s, reads through %d other nodes\n", s, writer.ID, len(readers))
	out := &ClusterStaleness{Setting: s, N: s.N, R: s.R, W: s.W}
	store := NewClientVersionStore(c, writer.GRPCAddr, grpcAddrs(readers), cfg.options()...)
	if out.Measured, err = MeasureStaleness(ctx, store, cfg.Staleness); err != nil {
		return nil, err
	}
	out.Predicted, out.Legs, out.PredictErr = cfg.predict(ctx, 1+len(readers), writer, readers, out.Measured)
	if out.PredictErr != nil {
		fmt.Fprintf(cfg.Staleness.Progress, "staleness: no prediction: %v\n", out.PredictErr)
	}
	return out, nil
}

// options are the client options of the measurement's requests.
func (c ClusterStalenessConfig) options() []client.Option {
	opts := []client.Option{client.WithN(c.Setting.N), client.WithR(c.Setting.R), client.WithW(c.Setting.W)}
	if c.NotDurable {
		opts = append(opts, client.NotDurable())
	}
	return opts
}

// WriterAndReaders picks the coordinators of a staleness measurement
// among members: the live active ones with a gRPC address, sorted by ID;
// the first writes and the others read. It needs at least two, and at
// least n.
func WriterAndReaders(members []client.Member, n int) (writer client.Member, readers []client.Member, err error) {
	var live []client.Member
	for _, m := range members {
		if m.Alive && m.GRPCAddr != "" && m.Status == "active" {
			live = append(live, m)
		}
	}
	slices.SortFunc(live, func(a, b client.Member) int { return strings.Compare(a.ID, b.ID) })
	if len(live) < 2 || len(live) < n {
		return client.Member{}, nil, fmt.Errorf("bench: staleness: %d live active nodes; want at least 2 and at least N=%d", len(live), n)
	}
	return live[0], live[1:], nil
}

func grpcAddrs(ms []client.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.GRPCAddr)
	}
	return out
}

// predict fetches the legs of the writer and the readers and runs the
// model; the readers' legs are pooled.
func (c ClusterStalenessConfig) predict(ctx context.Context, nodes int, writer client.Member, readers []client.Member,
	res *StalenessResult) ([]PredictedPoint, *LegQuantiles, error) {
	w, err := c.fetchLegs(ctx, writer.HTTPAddr)
	if err != nil {
		return nil, nil, err
	}
	var rs []server.LegSamples
	for _, m := range readers {
		l, err := c.fetchLegs(ctx, m.HTTPAddr)
		if err != nil {
			return nil, nil, err
		}
		rs = append(rs, l)
	}
	return PredictStaleness(PredictConfig{Setting: c.Setting, Nodes: nodes, Writer: w, Readers: rs, Deltas: c.Staleness.Deltas,
		Gap: res.Gap, Trials: c.Trials, MaxK: c.Staleness.MaxK})
}

// fetchLegs reads a node's GET /v1/legs.
func (c ClusterStalenessConfig) fetchLegs(ctx context.Context, httpAddr string) (server.LegSamples, error) {
	if httpAddr == "" {
		return server.LegSamples{}, errors.New("bench: a node has no HTTP address")
	}
	ctx, cancel := context.WithTimeout(ctx, c.LegsTimeout)
	defer cancel()
	get := c.GetJSON
	if get == nil {
		get = plainGetJSON
	}
	var v server.LegsView
	if err := get(ctx, httpAddr, "/v1/legs", &v); err != nil {
		return server.LegSamples{}, fmt.Errorf("GET %s/v1/legs: %w", httpAddr, err)
	}
	return v.LegSamples, nil
}

// plainGetJSON reads path from a node's HTTP API over plain HTTP.
func plainGetJSON(ctx context.Context, httpAddr, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// WriteStalenessTable writes the measured and predicted curves as
// Markdown.
func WriteStalenessTable(w io.Writer, cs *ClusterStaleness) error {
	res := cs.Measured
	var b strings.Builder
	fmt.Fprintf(&b, "Staleness, %v: %d writes acknowledged (%d failed), a key's next write %.1f ms after the last was acknowledged.\n\n",
		cs.Setting, res.Writes, res.WriteErrors, res.GapMS)
	b.WriteString("| Δ | reads | P(consistent) measured | predicted | 1 version behind measured / predicted | ≥2 behind measured / predicted |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|\n")
	for i, p := range res.Points {
		pred := "-"
		var pb []float64
		if i < len(cs.Predicted) {
			pred, pb = fmt.Sprintf("%.4f", cs.Predicted[i].Consistent), cs.Predicted[i].Behind
		}
		one, more := splitBehind(p.Behind)
		pone, pmore := splitBehind(pb)
		fmt.Fprintf(&b, "| %v | %d | %.4f | %s | %.4f / %.4f | %.4f / %.4f |\n", p.Delta, p.Reads, p.Consistent, pred, one, pone, more, pmore)
	}
	if l := cs.Legs; l != nil {
		fmt.Fprintf(&b, "\nOne-way delays behind the prediction (p50 / p99 / p99.9 ms, %d samples): write %s, ack %s, read %s, response %s; the writer's own copy acknowledged after %s.\n",
			l.Samples, fmtQ(l.W), fmtQ(l.A), fmtQ(l.R), fmtQ(l.S), fmtQ(l.L))
	}
	return writeString(w, b.String())
}

func fmtQ(q [3]float64) string { return fmt.Sprintf("%.2f / %.2f / %.2f", q[0], q[1], q[2]) }

// splitBehind returns the shares one, and two or more, versions behind
// of a Behind distribution (StalenessPoint.Behind, PredictedPoint.Behind).
func splitBehind(b []float64) (one, more float64) {
	if len(b) > 1 {
		one = b[1]
	}
	for _, v := range b[min(2, len(b)):] {
		more += v
	}
	return one, more
}
