package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/plots"
	"github.com/chorusdb/chorus/client"
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
	cfg       bench.ClusterStalenessConfig
	endpoints []string
	out       string
	conn      connFlags
}

func newBenchStalenessCmd(e *env) *cobra.Command {
	f := &stalenessFlags{cfg: bench.DefaultClusterStalenessConfig()}
	cmd := &cobra.Command{
		Use:   "staleness",
		Short: "Measure t-visibility and k-staleness on a running cluster, beside the WARS prediction",
		Long:  stalenessLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return f.run(cmd.Context(), e) },
	}
	f.addFlags(cmd.Flags())
	return cmd
}

// addFlags defines the command's flags on fs.
func (f *stalenessFlags) addFlags(fs *pflag.FlagSet) {
	c := &f.cfg
	fs.StringSliceVar(&f.endpoints, "endpoints", []string{"127.0.0.1:9090"}, "gRPC addresses of any cluster nodes")
	fs.IntVarP(&c.Setting.N, "n", "n", 3, "replicas N")
	fs.IntVarP(&c.Setting.R, "r", "r", 1, "read quorum R")
	fs.IntVarP(&c.Setting.W, "w", "w", 1, "write quorum W")
	fs.BoolVar(&c.NotDurable, "no-sync", false, "do not sync writes on the replicas")
	fs.IntVar(&c.Staleness.Writes, "writes", 1000, "acknowledged writes to read after")
	fs.IntVar(&c.Staleness.Streams, "streams", 16, "writers, each on its own keys")
	ms := time.Millisecond
	fs.DurationSliceVar(&c.Staleness.Deltas, "deltas", []time.Duration{0, ms, 2 * ms, 5 * ms, 10 * ms, 20 * ms}, "read delays after each acknowledged write")
	fs.IntVar(&c.Trials, "trials", c.Trials, "Monte Carlo trials of the prediction")
	fs.StringVar(&f.out, "out", "", "directory for staleness.json, staleness.md and staleness.png")
	f.conn.register(fs)
}

func (f *stalenessFlags) run(ctx context.Context, e *env) error {
	c, s := &f.cfg, f.cfg.Staleness
	if c.Setting.N < 1 || c.Setting.R < 1 || c.Setting.W < 1 || s.Writes < 1 || s.Streams < 1 || c.Trials < 1 || len(s.Deltas) == 0 {
		return usageError("-n, -r, -w, --writes, --streams and --trials must be positive, and --deltas not empty")
	}
	if c.Setting.R > c.Setting.N || c.Setting.W > c.Setting.N {
		return usageError("-r (%d) and -w (%d) must not exceed -n (%d)", c.Setting.R, c.Setting.W, c.Setting.N)
	}
	for _, d := range s.Deltas {
		if d < 0 {
			return usageError("--deltas: %v is negative", d)
		}
	}
	if err := configError(c.Validate()); err != nil {
		return err
	}
	c.Staleness.Progress = e.stderr
	cc := client.Config{Endpoints: f.endpoints}
	if err := f.conn.clientConfig(&cc); err != nil {
		return err
	}
	web, err := f.conn.http()
	if err != nil {
		return err
	}
	c.GetJSON = web.getJSON
	cl, err := client.New(ctx, cc)
	if err != nil {
		return plainError(err, f.endpoints)
	}
	defer cl.Close()
	cs, err := bench.MeasureClusterStaleness(ctx, cl, *c)
	if err != nil {
		return err
	}
	var md strings.Builder
	if err := bench.WriteStalenessTable(&md, cs); err != nil {
		return err
	}
	err = printTableOrJSON(e, cs, func() error {
		_, err := e.stdout.Write([]byte(md.String()))
		return err
	})
	if err != nil || f.out == "" {
		return err
	}
	return writeOut(f.out, map[string]func(string) error{"staleness.json": jsonFile(cs), "staleness.md": textFile(md.String()),
		"staleness.png": func(path string) error { return plots.Staleness(path, cs) }})
}
