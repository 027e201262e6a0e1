package plots

import (
	"bufio"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/bench"
)

var keep = flag.String("plots", "", "write the plots of the tests to this directory, to look at them")

// outDir is where a test writes its plots.
func outDir(t *testing.T) string {
	if *keep != "" {
		if err := os.MkdirAll(*keep, 0o755); err != nil {
			t.Fatal(err)
		}
		return *keep
	}
	return t.TempDir()
}

// checkPNG fails unless path holds a PNG image of the package's size.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", path, err)
	}
	if b := img.Bounds(); b != image.Rect(0, 0, 1200, 675) {
		t.Errorf("%s: %v, want 1200 x 675", path, b)
	}
}

// quorumResults reads the measured rows in testdata/quorum.md.
func quorumResults(t *testing.T) []*bench.SettingResult {
	f, err := os.Open("testdata/quorum.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*bench.SettingResult
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "|") {
			out = append(out, parseRow(t, sc.Text()))
		}
	}
	return out
}

// parseRow parses "| N | R | W | kind | ops/s | get p50 / p99 | put p50 / p99 | P0 m / p | P5 m / p | behind | down s / s | part s / s |".
func parseRow(t *testing.T, row string) *bench.SettingResult {
	c := strings.Split(strings.Trim(row, "| "), " | ")
	n, r, w := atoi(t, c[0]), atoi(t, c[1]), atoi(t, c[2])
	res := &bench.SettingResult{Setting: bench.Setting{N: n, R: r, W: w}, N: n, R: r, W: w, Strict: c[3] == "strict"}
	res.Load = &bench.Report{Ops: []*bench.OpReport{op(t, "get", c[5]), op(t, "put", c[6])}}
	res.Load.Ops[0].OpsPerSec = float64(atoi(t, c[4]))
	m0, p0 := pair(t, c[7])
	m5, p5 := pair(t, c[8])
	res.Staleness = &bench.StalenessResult{Points: []bench.StalenessPoint{{DeltaMS: 0, Consistent: m0}, {Delta: 5 * time.Millisecond, DeltaMS: 5, Consistent: m5}}}
	res.Predicted = []bench.PredictedPoint{{DeltaMS: 0, Consistent: p0}, {DeltaMS: 5, Consistent: p5}}
	for i, cell := range c[10:12] {
		sloppy, strict := pair(t, cell)
		for _, a := range []struct {
			share  float64
			strict bool
		}{{sloppy, false}, {strict, true}} {
			res.Available = append(res.Available, &bench.Availability{Fault: []bench.Fault{bench.OneDown, bench.Partition}[i],
				Strict: a.strict, Puts: 1000, PutOK: int64(a.share * 1000)})
		}
	}
	return res
}

func op(t *testing.T, name, cell string) *bench.OpReport {
	p50, p99, _ := strings.Cut(cell, " / ")
	return &bench.OpReport{Op: name, P50MS: ms(t, p50), P99MS: ms(t, p99)}
}

func ms(t *testing.T, s string) float64 {
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return float64(d) / float64(time.Millisecond)
}

func pair(t *testing.T, cell string) (a, b float64) {
	x, y, _ := strings.Cut(cell, " / ")
	return atof(t, x), atof(t, y)
}

func atoi(t *testing.T, s string) int {
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func atof(t *testing.T, s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestQuorum draws the plots of the measured sweep in testdata.
func TestQuorum(t *testing.T) {
	results := quorumResults(t)
	if len(results) != 14 {
		t.Fatalf("testdata: %d settings, want 14", len(results))
	}
	dir := outDir(t)
	if err := Quorum(dir, results); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"staleness.png", "tradeoff.png", "availability.png", "latency.png"} {
		checkPNG(t, filepath.Join(dir, f))
	}
}

// TestTradeoffMarkersDistinct checks that no two settings of a sweep
// share a marker, since the legend alone names them: two groups, one of
// more settings than there are colours.
func TestTradeoffMarkersDistinct(t *testing.T) {
	seen := map[string]string{}
	for g, n := range []int{9, 14} {
		for j := range n {
			st := markerStyle(g, j, 2)
			key := fmt.Sprintf("%v %T", st.Color, st.Shape)
			if prev, ok := seen[key]; ok {
				t.Errorf("group %d setting %d has the marker of %s", g, j, prev)
			}
			seen[key] = fmt.Sprintf("group %d setting %d", g, j)
		}
	}
}

// result is a duration-bounded run of puts and gets whose latencies grow
// along the run, with failures in its middle second.
func result() *bench.Result {
	cfg := bench.DefaultConfig()
	cfg.Op, cfg.Duration = bench.OpMixed, 3*time.Second
	res := &bench.Result{Config: cfg, Elapsed: cfg.Duration}
	for i, name := range []string{"get", "put"} {
		s := &bench.OpStats{Op: name, Count: 3000, OpsPerSec: 1000}
		for j := range 3000 {
			s.Latency.Record(time.Duration(j*(i+1)) * time.Microsecond)
		}
		res.Ops = append(res.Ops, s)
	}
	for i := range 30 {
		st := bench.Step{OK: 200}
		if i >= 10 && i < 20 {
			st = bench.Step{OK: 50, Failed: 20}
		}
		res.Timeline = append(res.Timeline, st)
	}
	return res
}

func TestRun(t *testing.T) {
	files, err := Run(filepath.Join(outDir(t), "run"), "chorus", result())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("files %v, want throughput and latency", files)
	}
	for _, f := range files {
		checkPNG(t, f)
	}
	// A run bounded by an operation count has no timeline, and an empty
	// one no latencies: neither plot is drawn.
	empty := &bench.Result{Config: bench.DefaultConfig()}
	if files, err := Run(filepath.Join(t.TempDir(), "empty"), "chorus", empty); err != nil || len(files) != 0 {
		t.Errorf("Run of an empty result: %v, %v; want no files", files, err)
	}
}

func TestFailoverAndCompare(t *testing.T) {
	dir := outDir(t)
	res := result()
	var runs []*bench.FailoverRun
	for _, name := range []string{"chorus", "etcd"} {
		r := &bench.FailoverRun{Target: name, KilledAt: time.Second, RestartedAt: 2 * time.Second}
		r.Summarize(res)
		runs = append(runs, r)
	}
	if err := Failover(filepath.Join(dir, "failover.png"), bench.DefaultFailoverConfig(), runs); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "failover.png"))

	var cmp []*bench.CompareRun
	for _, c := range []int{16, 64} {
		for _, name := range []string{"chorus", "chorus-nosync", "etcd"} {
			cmp = append(cmp, &bench.CompareRun{Target: name, Clients: c, Report: bench.NewReport(res)})
		}
	}
	if err := Compare(dir, res.Config, []int{16, 64}, cmp); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"compare-throughput.png", "compare-p99.png", "compare-latency-c16.png", "compare-latency-c64.png"} {
		checkPNG(t, filepath.Join(dir, f))
	}
}

func TestStaleness(t *testing.T) {
	dir := outDir(t)
	cs := &bench.ClusterStaleness{Setting: bench.Setting{N: 3, R: 1, W: 1}, Measured: &bench.StalenessResult{}}
	for i, ms := range []float64{0, 1, 2, 5, 10, 20} {
		p := min(1, 0.8+0.05*float64(i))
		cs.Measured.Points = append(cs.Measured.Points, bench.StalenessPoint{DeltaMS: ms, Consistent: p})
		cs.Predicted = append(cs.Predicted, bench.PredictedPoint{DeltaMS: ms, Consistent: min(1, p+0.05)})
	}
	if err := Staleness(filepath.Join(dir, "staleness.png"), cs); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "staleness.png"))
	// Without a prediction the measured curve alone is drawn.
	cs.Predicted = nil
	if err := Staleness(filepath.Join(dir, "staleness-measured.png"), cs); err != nil {
		t.Fatal(err)
	}
}

// TestSaveLeavesNoPartialFile checks that a failed save (here the
// rename over a directory in the way) leaves no temporary file behind.
func TestSaveLeavesNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "failover.png")
	if err := os.MkdirAll(filepath.Join(dest, "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Failover(dest, bench.DefaultFailoverConfig(), []*bench.FailoverRun{{Target: "chorus"}}); err == nil {
		t.Fatal("saved over a non-empty directory")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%s holds %d entries after a failed save, want only the directory in the way", dir, len(entries))
	}
}

func TestTimeline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "timeline.png")
	xs := []float64{0.25, 0.75, 1.25, 1.75}
	series := []Series{{Name: "writes ok", Ys: []float64{100, 20, 0, 90}}, {Name: "failed", Ys: []float64{0, 40, 60, 0}}}
	spans := []Span{{Label: "kill [2]", Start: 0.5, End: 1.5}, {Label: "partition/bridge", Start: 1.6, End: 1.9}}
	if err := Timeline(path, "a fault test", "operations per second", xs, series, spans); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, path)
	if err := Timeline(path, "no data", "ops", nil, nil, nil); err != nil {
		t.Fatalf("an empty timeline: %v", err)
	}
}

func TestConvergence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "convergence.png")
	sets := []Points{{Name: "kill", Xs: []float64{5, 12, 30}, Ys: []float64{0.4, 6.2, 1.1}},
		{Name: "not converged", Xs: []float64{40}, Ys: []float64{60}}}
	if err := Convergence(path, "100 kills", sets, 30); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, path)
	if err := Convergence(path, "no heals", nil, 0); err != nil {
		t.Fatalf("an empty plot: %v", err)
	}
}
