package bench_test

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/plots"
)

func TestParseSettings(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []bench.Setting
		err  string
	}{
		{"", nil, ""},
		{"3:1:1", []bench.Setting{{N: 3, R: 1, W: 1}}, ""},
		{"3:2:2, 5:1:5", []bench.Setting{{N: 3, R: 2, W: 2}, {N: 5, R: 1, W: 5}}, ""},
		{"3:1", nil, "want N:R:W"},
		{"3:0:1", nil, `"0" is not a positive number`},
		{"3:x:1", nil, `"x" is not a positive number`},
	} {
		got, err := bench.ParseSettings(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSettings(%q) = %v, want an error with %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSettings(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestQuorumExperiment sweeps two settings on small clusters: the strict
// one reads every write, and the table, JSON and plots come out.
func TestQuorumExperiment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts local clusters")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := bench.ExperimentConfig{Settings: []bench.Setting{{N: 3, R: 1, W: 1}, {N: 3, R: 2, W: 2}}, Nodes: 4, Trials: 2000,
		AvailabilityDuration: 300 * time.Millisecond, Staleness: bench.StalenessConfig{Writes: 200},
		Load: bench.Config{Op: bench.OpMixed, ReadRatio: 0.5, Clients: 16, Duration: time.Second, Keys: 1000, ValueSize: 100}}
	results, err := bench.QuorumExperiment(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := bench.WriteQuorumTable(&b, cfg, results); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\| 3 \| 2 \| 2 \| strict \| \d+ \| .* \| 1\.0000 / 1\.0000 \| 1\.0000 / 1\.0000 \| 0\.0000 / 0\.0000; 0\.0000 / 0\.0000 \| \d\.\d+ / \d\.\d+ \| \d\.\d+ / \d\.\d+ \|$`).MatchString(b.String()) {
		t.Errorf("no N=3 R=2 W=2 row, consistent at every delta, with availability:\n%s", b.String())
	}
	if !regexp.MustCompile(`(?m)^\| 3 \| 1 \| 1 \| partial \| `).MatchString(b.String()) {
		t.Errorf("no N=3 R=1 W=1 row:\n%s", b.String())
	}
	js, err := json.Marshal(map[string]any{"settings": results})
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Settings []struct {
			N, R, W   int
			Predicted []struct {
				Consistent float64 `json:"consistent"`
			} `json:"predicted"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(js, &res); err != nil || len(res.Settings) != 2 || len(res.Settings[0].Predicted) == 0 {
		t.Fatalf("JSON: %v, %+v", err, res)
	}
	dir := t.TempDir()
	if err := plots.Quorum(dir, results); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"staleness.png", "tradeoff.png", "availability.png", "latency.png"} {
		checkPNG(t, filepath.Join(dir, f))
	}
}

// checkPNG fails unless path holds a PNG image.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s: not a PNG: %v", path, err)
	}
}
