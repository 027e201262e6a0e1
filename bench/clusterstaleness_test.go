package bench

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/client"
	"github.com/chorusdb/chorus/server/localcluster"
)

func TestWriterAndReaders(t *testing.T) {
	m := func(id string, alive bool, status string) client.Member {
		return client.Member{ID: id, Alive: alive, Status: status, GRPCAddr: id + ":9090"}
	}
	tests := []struct {
		name    string
		members []client.Member
		n       int
		writer  string
		readers string
		err     bool
	}{
		{"sorted by ID", []client.Member{m("c", true, "active"), m("a", true, "active"), m("b", true, "active")}, 3, "a", "b c", false},
		{"dead, joining and addressless skipped", []client.Member{m("a", false, "active"), m("b", true, "joining"),
			{ID: "c", Alive: true, Status: "active"}, m("d", true, "active"), m("e", true, "active")}, 2, "d", "e", false},
		{"fewer live than N", []client.Member{m("a", true, "active"), m("b", true, "active")}, 3, "", "", true},
		{"one node", []client.Member{m("a", true, "active")}, 1, "", "", true},
	}
	for _, tt := range tests {
		w, rs, err := WriterAndReaders(tt.members, tt.n)
		if (err != nil) != tt.err {
			t.Errorf("%s: err %v, want error %v", tt.name, err, tt.err)
			continue
		}
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		if w.ID != tt.writer || strings.Join(ids, " ") != tt.readers {
			t.Errorf("%s: writer %q readers %q, want %q and %q", tt.name, w.ID, ids, tt.writer, tt.readers)
		}
	}
}

func TestSplitBehind(t *testing.T) {
	for _, tt := range []struct {
		behind    []float64
		one, more float64
	}{
		{nil, 0, 0},
		{[]float64{1}, 0, 0},
		{[]float64{0.9, 0.1}, 0.1, 0},
		{[]float64{0.7, 0.2, 0.05, 0.03, 0.02}, 0.2, 0.1},
	} {
		one, more := splitBehind(tt.behind)
		if one != tt.one || more < tt.more-1e-12 || more > tt.more+1e-12 {
			t.Errorf("splitBehind(%v) = %v, %v; want %v, %v", tt.behind, one, more, tt.one, tt.more)
		}
	}
}

func TestClusterStalenessConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg  ClusterStalenessConfig
		want string
	}{
		{ClusterStalenessConfig{}, ""},
		{ClusterStalenessConfig{Setting: Setting{N: 3, R: 4, W: 1}}, "want 1 <= R, W <= N"},
		{ClusterStalenessConfig{Setting: Setting{N: 3, R: 1, W: 0}}, "want 1 <= R, W <= N"},
		{ClusterStalenessConfig{Staleness: StalenessConfig{Deltas: []time.Duration{-time.Millisecond}}}, "negative"},
	} {
		err := tt.cfg.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (!errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// TestMeasureClusterStaleness measures staleness on a running local
// cluster and predicts it from the nodes' /v1/legs: every row has a
// measured and a predicted probability, and strict quorums read every
// write.
func TestMeasureClusterStaleness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: 3, Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	c, err := client.New(ctx, client.Config{Endpoints: []string{lc.Nodes[1].Addrs().GRPC}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := ClusterStalenessConfig{Setting: Setting{N: 3, R: 2, W: 2}, NotDurable: true, Trials: 2000,
		Staleness: StalenessConfig{Writes: 200, Deltas: []time.Duration{0, 2 * time.Millisecond}}}
	cs, err := MeasureClusterStaleness(ctx, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cs.PredictErr != nil || cs.Legs == nil || len(cs.Predicted) != 2 {
		t.Fatalf("prediction: %v, legs %v, %d points; want two predicted points", cs.PredictErr, cs.Legs, len(cs.Predicted))
	}
	var b strings.Builder
	if err := WriteStalenessTable(&b, cs); err != nil {
		t.Fatal(err)
	}
	// Strict quorums read every acknowledged write, however many were
	// acknowledged (a loaded machine may fail a few at their deadline).
	for _, re := range []string{`(?m)^\| 0s \| [1-9]\d* \| 1\.0000 \| 1\.0000 \| `, `(?m)^\| 2ms \| [1-9]\d* \| 1\.0000 \| 1\.0000 \| `,
		`writer's own copy acknowledged after \d`} {
		if !regexp.MustCompile(re).MatchString(b.String()) {
			t.Errorf("R=2 W=2: table lacks %s:\n%s", re, b.String())
		}
	}
	cfg.Setting = Setting{N: 3, R: 4, W: 1}
	if _, err := MeasureClusterStaleness(ctx, c, cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("R=4 with N=3: %v, want ErrInvalidConfig", err)
	}
}
