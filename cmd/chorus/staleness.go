package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/chart"
	"github.com/chorusdb/chorus/client"
	"github.com/chorusdb/chorus/server"
)

const stalenessLong = `Measure how stale reads are on a running cluster (a 'chorus demo', say) and
predict the same from the cluster's own delays.

Writers write versions of their keys through one node (the first live
member); after each acknowledged write the key is read once at each of
--deltas through the other nodes in turn, with the quorum given. A read is
consistent when it returns the latest acknowledged version; otherwise it is
k versions behind. Then the nodes' recorded one-way delays (GET /v1/legs)
feed the WARS model (Bailis et al., Probabilistically Bounded Staleness),
and the predicted curve is printed beside the measured one.

The nodes must share a clock for the delays to mean anything: a local
cluster does. With --out DIR the JSON, a Markdown table and staleness.png
are written to DIR.`

type stalenessFlags struct {
	endpoints []string
	n, r, w   int
	noSync    bool
	writes    int
	streams   int
	deltas    []time.Duration
	trials    int
	out       string
}

func newBenchStalenessCmd(e *env) *cobra.Command {
	f := &stalenessFlags{}
	cmd := &cobra.Command{
		Use:   "staleness",
		Short: "Measure t-visibility and k-staleness on a running cluster, beside the WARS prediction",
		Long:  stalenessLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return f.run(cmd.Context(), e) },
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&f.endpoints, "endpoints", []string{"127.0.0.1:9090"}, "gRPC addresses of any cluster nodes")
	fs.IntVar(&f.n, "n", 3, "replicas N")
	fs.IntVar(&f.r, "r", 1, "read quorum R")
	fs.IntVar(&f.w, "w", 1, "write quorum W")
	fs.BoolVar(&f.noSync, "no-sync", false, "do not sync writes on the replicas")
	fs.IntVar(&f.writes, "writes", 1000, "acknowledged writes to read after")
	fs.IntVar(&f.streams, "streams", 16, "writers, each on its own keys")
	ms := time.Millisecond
	fs.DurationSliceVar(&f.deltas, "deltas", []time.Duration{0, ms, 2 * ms, 5 * ms, 10 * ms, 20 * ms}, "read delays after each acknowledged write")
	fs.IntVar(&f.trials, "trials", 20000, "Monte Carlo trials of the prediction")
	fs.StringVar(&f.out, "out", "", "directory for staleness.json, staleness.md and staleness.png")
	return cmd
}

func (f *stalenessFlags) run(ctx context.Context, e *env) error {
	q := client.Quorum{N: f.n, R: f.r, W: f.w}
	if err := q.Validate(); err != nil || f.n < 1 || f.r < 1 || f.w < 1 {
		return usageError("--n %d --r %d --w %d: want 1 <= R, W <= N", f.n, f.r, f.w)
	}
	if f.writes < 1 || f.streams < 1 || f.trials < 1 || len(f.deltas) == 0 {
		return usageError("--writes, --streams and --trials must be positive, and --deltas not empty")
	}
	for _, d := range f.deltas {
		if d < 0 {
			return usageError("--deltas: %v is negative", d)
		}
	}
	c, err := client.New(ctx, client.Config{Endpoints: f.endpoints})
	if err != nil {
		return err
	}
	defer c.Close()
	info, err := c.Cluster(ctx)
	if err != nil {
		return err
	}
	var live []client.Member
	for _, m := range info.Members {
		if m.Alive && m.GRPCAddr != "" && m.Status == "active" {
			live = append(live, m)
		}
	}
	slices.SortFunc(live, func(a, b client.Member) int { return strings.Compare(a.ID, b.ID) })
	if len(live) < 2 || len(live) < f.n {
		return fmt.Errorf("staleness: %d live active nodes; want at least 2 and at least N=%d", len(live), f.n)
	}
	writer, readers := live[0], live[1:]
	var readerAddrs []string
	for _, m := range readers {
		readerAddrs = append(readerAddrs, m.GRPCAddr)
	}
	opts := []client.Option{client.WithN(f.n), client.WithR(f.r), client.WithW(f.w)}
	if f.noSync {
		opts = append(opts, client.NotDurable())
	}
	fmt.Fprintf(e.stderr, "staleness: N=%d R=%d W=%d, writes through %s, reads through %d other nodes\n", f.n, f.r, f.w, writer.ID, len(readers))
	cfg := bench.StalenessConfig{Writes: f.writes, Streams: f.streams, Deltas: f.deltas, Progress: e.stderr,
		KeyPrefix: fmt.Sprintf("staleness-%d-", time.Now().UnixNano())}
	res, err := bench.MeasureStaleness(ctx, bench.NewClientVersionStore(c, writer.GRPCAddr, readerAddrs, opts...), cfg)
	if err != nil {
		return err
	}
	setting := bench.Setting{N: f.n, R: f.r, W: f.w}
	predicted, legs, perr := f.predict(ctx, setting, len(live), writer, readers, res)
	if perr != nil {
		fmt.Fprintf(e.stderr, "staleness: no prediction: %v\n", perr)
	}
	var md strings.Builder
	writeStalenessTable(&md, setting, res, predicted, legs)
	fmt.Fprint(e.stdout, md.String())
	if f.out == "" {
		return nil
	}
	return writeStalenessOut(f.out, setting, res, predicted, legs, md.String())
}

// predict fetches the legs of the writer and the readers and runs the
// model; the readers' legs are pooled.
func (f *stalenessFlags) predict(ctx context.Context, s bench.Setting, nodes int, writer client.Member, readers []client.Member,
	res *bench.StalenessResult) ([]bench.PredictedPoint, *bench.LegQuantiles, error) {
	w, err := fetchLegs(ctx, writer.HTTPAddr)
	if err != nil {
		return nil, nil, err
	}
	var rs []server.LegSamples
	for _, m := range readers {
		l, err := fetchLegs(ctx, m.HTTPAddr)
		if err != nil {
			return nil, nil, err
		}
		rs = append(rs, l)
	}
	return bench.PredictStaleness(bench.PredictConfig{Setting: s, Nodes: nodes, Writer: w, Readers: rs, Deltas: f.deltas,
		Gap: res.Gap, Trials: f.trials, MaxK: 5})
}

// fetchLegs reads a node's GET /v1/legs.
func fetchLegs(ctx context.Context, httpAddr string) (server.LegSamples, error) {
	if httpAddr == "" {
		return server.LegSamples{}, fmt.Errorf("a node has no HTTP address")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/v1/legs", nil)
	if err != nil {
		return server.LegSamples{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return server.LegSamples{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return server.LegSamples{}, fmt.Errorf("GET %s/v1/legs: %s", httpAddr, resp.Status)
	}
	var v server.LegsView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return server.LegSamples{}, fmt.Errorf("GET %s/v1/legs: %w", httpAddr, err)
	}
	return v.LegSamples, nil
}

// writeStalenessTable writes the measured and predicted curves as
// Markdown.
func writeStalenessTable(w io.Writer, s bench.Setting, res *bench.StalenessResult, predicted []bench.PredictedPoint, legs *bench.LegQuantiles) {
	fmt.Fprintf(w, "Staleness, %v: %d writes acknowledged (%d failed), a key's next write %.1f ms after the last was acknowledged.\n\n",
		s, res.Writes, res.WriteErrors, res.GapMS)
	fmt.Fprintln(w, "| Δ | reads | P(consistent) measured | predicted | 1 version behind measured / predicted | ≥2 behind measured / predicted |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|")
	for i, p := range res.Points {
		pred := "-"
		var pb []float64
		if i < len(predicted) {
			pred, pb = fmt.Sprintf("%.4f", predicted[i].Consistent), predicted[i].Behind
		}
		one, more := splitBehind(p.Behind)
		pone, pmore := splitBehind(pb)
		fmt.Fprintf(w, "| %v | %d | %.4f | %s | %.4f / %.4f | %.4f / %.4f |\n", p.Delta, p.Reads, p.Consistent, pred, one, pone, more, pmore)
	}
	if legs != nil {
		fmt.Fprintf(w, "\nOne-way delays behind the prediction (p50 / p99 / p99.9 ms, %d samples): write %s, ack %s, read %s, response %s; the writer's own copy acknowledged after %s.\n",
			legs.Samples, fmtQ(legs.W), fmtQ(legs.A), fmtQ(legs.R), fmtQ(legs.S), fmtQ(legs.L))
	}
}

func fmtQ(q [3]float64) string { return fmt.Sprintf("%.2f / %.2f / %.2f", q[0], q[1], q[2]) }

// splitBehind returns the shares one, and two or more, versions behind.
func splitBehind(b []float64) (one, more float64) {
	if len(b) > 1 {
		one = b[1]
	}
	for _, v := range b[min(2, len(b)):] {
		more += v
	}
	return one, more
}

func writeStalenessOut(dir string, s bench.Setting, res *bench.StalenessResult, predicted []bench.PredictedPoint, legs *bench.LegQuantiles, md string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(map[string]any{"n": s.N, "r": s.R, "w": s.W, "measured": res, "predicted": predicted, "legs": legs}, "", "  ")
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"staleness.json": append(js, '\n'), "staleness.md": []byte(md)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	zero, one := 0.0, 1.0
	l := chart.Lines{Title: fmt.Sprintf("P(consistent read), %v", s), XLabel: "Δ after acknowledgement (ms)", YLabel: "P(consistent)",
		YMin: &zero, YMax: &one}
	m := chart.Series{Name: "measured"}
	for _, p := range res.Points {
		m.X, m.Y = append(m.X, p.DeltaMS), append(m.Y, p.Consistent)
	}
	l.Series = append(l.Series, m)
	if len(predicted) > 0 {
		p := chart.Series{Name: "predicted (WARS)"}
		for _, pt := range predicted {
			p.X, p.Y = append(p.X, pt.DeltaMS), append(p.Y, pt.Consistent)
		}
		l.Series = append(l.Series, p)
	}
	return l.Save(filepath.Join(dir, "staleness.png"))
}
