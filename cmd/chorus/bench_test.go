package main

import (
	"context"
	"encoding/json"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/procstat"
	"github.com/chorusdb/chorus/server/localcluster"
)

// startLocalCluster starts a 3-node cluster in this process, closed when
// the test ends, and returns its nodes' gRPC addresses.
func startLocalCluster(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: 3, Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lc.Close() })
	var eps []string
	for _, n := range lc.Nodes {
		eps = append(eps, n.Addrs().GRPC)
	}
	return eps
}

func TestBenchLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	eps := startLocalCluster(t)
	common := []string{"bench", "--insecure", "--endpoints", strings.Join(eps, ","), "--ops", "200", "--clients", "4", "--keys", "100"}

	r := runCLI(t, "", append(common, "--op", "put", "--w", "3")...)
	if r.code != 0 {
		t.Fatalf("bench --op put: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !regexp.MustCompile(`(?m)^ *put +200 +\d+ .* 0 *$`).MatchString(r.stdout) {
		t.Errorf("bench --op put: no put row with 200 ops and 0 errors:\n%s", r.stdout)
	}

	out := filepath.Join(t.TempDir(), "get.json")
	r = runCLI(t, "", append(common, "--op", "get", "--out", out)...)
	if r.code != 0 {
		t.Fatalf("bench --op get: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, re := range []string{`(?m)^ *preload +100 `, `(?m)^ *get +200 +\d+ .* 0 *$`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("bench --op get: table lacks %s:\n%s", re, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "misses") {
		t.Errorf("bench --op get after a preload reported misses:\n%s", r.stdout)
	}
	var rep struct {
		Op  string `json:"op"`
		Ops []struct {
			Op     string  `json:"op"`
			Count  int64   `json:"count"`
			P50MS  float64 `json:"p50_ms"`
			Errors int64   `json:"errors"`
		} `json:"ops"`
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("--out is not JSON: %v\n%s", err, data)
	}
	if rep.Op != "get" || len(rep.Ops) != 1 || rep.Ops[0].Count != 200 || rep.Ops[0].P50MS <= 0 {
		t.Errorf("--out report = %+v, want 200 gets with a positive p50", rep)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--op", "scan"},
		{"bench", "--read-ratio", "2", "--op", "mixed"},
		{"bench", "--clients", "0"},
		{"bench", "--duration", "0"},
		{"bench", "--r", "3", "--n", "2"},
		{"bench", "--clients", "many"},
		{"bench", "extra"},
		{"bench", "--value-size", "big"},
		{"bench", "--value-size", "100-10"},
		{"bench", "--distribution", "pareto"},
		{"bench", "--theta", "-1"},
		{"bench", "--rate", "-5"},
		{"bench", "--target", "mysql"},
		{"bench", "--target", "etcd", "--w", "2"},
		{"bench", "--op", "delete", "--target", "cassandra"},
		{"bench", "compare", "--clients-list", "0"},
		{"bench", "compare", "--no-sync"},
		{"bench", "compare", "--idle", "-1s"},
		{"bench", "compare", "--idle-settle", "-1s"},
		{"bench", "failover", "--kill-at", "5s", "--restart-at", "3s"},
		{"bench", "failover", "--targets", "redis"},
		{"bench", "failover", "--etcd-victim", "all"},
		{"bench", "staleness", "--deltas", "-1ms"},
		{"bench", "staleness", "--r", "4"},
		{"bench", "staleness", "--writes", "0"},
		{"experiment", "quorum", "--settings", "3:4:1"},
		{"experiment", "quorum", "--settings", "3:1"},
		{"experiment", "quorum", "--nodes", "0"},
	} {
		r := runCLI(t, "", args...)
		if r.code != exitUsage {
			t.Errorf("chorus %s: exit %d, want %d\nstderr: %s", strings.Join(args, " "), r.code, exitUsage, r.stderr)
		}
	}
	// Messages name the flags as typed, not bench.Config's fields.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--op", "z"}, `--op: unknown workload "z" (a, b, c, d, delete, f, get, mixed, put)`},
		{[]string{"bench", "--distribution", "pareto"}, `--distribution: unknown distribution "pareto"`},
		{[]string{"bench", "--theta", "-1"}, "--theta must be above 0"},
		{[]string{"bench", "--read-ratio", "2", "--op", "mixed"}, "--read-ratio must be between 0 and 1"},
		{[]string{"bench", "--rate", "-5"}, "--rate must be"},
		{[]string{"bench", "--duration", "0"}, "--duration 0 needs --ops"},
		{[]string{"bench", "-r", "3", "-n", "2"}, "-r 3 exceeds -n 2"},
		{[]string{"bench", "staleness", "-r", "4"}, "-r (4) and -w (1) must not exceed -n (3)"},
		{[]string{"bench", "failover", "--kill-at", "5s", "--restart-at", "3s"}, "--kill-at (5s) < --restart-at (3s)"},
	} {
		r := runCLI(t, "", tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("chorus %s: exit %d stderr %q, want 2 and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
	// The environment sets flags too.
	t.Setenv("CHORUS_OP", "nope")
	if r := runCLI(t, "", "bench"); r.code != exitUsage || !strings.Contains(r.stderr, "nope") {
		t.Errorf("CHORUS_OP=nope: exit %d stderr %q, want usage error", r.code, r.stderr)
	}
}

func TestBenchUnreachable(t *testing.T) {
	// A closed port: the run cannot start.
	r := runCLI(t, "", "bench", "--insecure", "--endpoints", "127.0.0.1:1", "--ops", "10")
	if r.code != exitRuntime || !strings.Contains(r.stderr, "no node reachable at 127.0.0.1:1: connection refused") {
		t.Errorf("bench against a closed port: exit %d, want %d and the reason in words\nstderr: %s", r.code, exitRuntime, r.stderr)
	}
}

// TestBenchWorkloadsAndPlots runs YCSB F (read-modify-write) with zipfian
// keys and ranged values, and an open-loop run, against a local cluster,
// and checks the table rows and the plots.
func TestBenchWorkloadsAndPlots(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	eps := startLocalCluster(t)
	prefix := filepath.Join(t.TempDir(), "f")
	r := runCLIWithin(t, 30*time.Second, "", "bench", "--insecure", "--endpoints", strings.Join(eps, ","), "--op", "f", "--distribution", "zipfian",
		"--theta", "0.9", "--keys", "100", "--value-size", "10-200", "--duration", "1s", "--clients", "4", "--plot", prefix)
	if r.code != 0 {
		t.Fatalf("bench --op f: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, re := range []string{`(?m)^ *get +\d+ `, `(?m)^ *rmw +\d+ `, `mix f: 50% get, 50% rmw, zipfian\(0.9\) keys`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("bench --op f: output lacks %s:\n%s", re, r.stdout)
		}
	}
	for _, suffix := range []string{"-throughput.png", "-latency.png"} {
		checkPNG(t, prefix+suffix)
	}

	r = runCLIWithin(t, 30*time.Second, "", "bench", "--insecure", "--endpoints", strings.Join(eps, ","), "--op", "put", "--rate", "200",
		"--duration", "1s", "--clients", "4", "--json")
	if r.code != 0 {
		t.Fatalf("bench --rate: exit %d\nstderr: %s", r.code, r.stderr)
	}
	var rep struct {
		Rate float64 `json:"rate"`
		Ops  []struct {
			Count   int64 `json:"count"`
			Service *struct {
				P99MS float64 `json:"p99_ms"`
			} `json:"service"`
		} `json:"ops"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if rep.Rate != 200 || len(rep.Ops) != 1 || rep.Ops[0].Count > 200 || rep.Ops[0].Count < 100 || rep.Ops[0].Service == nil {
		t.Errorf("open loop at 200/s for 1s: %+v; want at most 200 puts (at least half), with service times", rep)
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

// etcdBinary returns the etcd executable, or skips the test: CI installs
// it (scripts/install-etcd.sh), a developer's machine may not have it.
func etcdBinary(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("etcd"); err == nil {
		return
	}
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		return
	}
	t.Skip("etcd is not installed (scripts/install-etcd.sh installs it)")
}

// TestBenchCompare runs the comparison for a second per run: three
// chorus node processes and three etcd members, and checks every row,
// the ratios, what the servers spent (on Linux), the read modes, the
// idle costs and the files.
func TestBenchCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs chorus and etcd clusters")
	}
	etcdBinary(t)
	bin := buildChorus(t)
	out := filepath.Join(t.TempDir(), "out")
	r := runCLIWithin(t, 3*time.Minute, "", "bench", "compare", "--chorus-binary", bin, "--duration", "1s",
		"--port-offset", strconv.Itoa(freePortOffset(t)),
		"--clients-list", "4,8", "--keys", "100", "--idle", "500ms", "--idle-settle", "0", "--out", out)
	if r.code != 0 {
		t.Fatalf("bench compare: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	// cpu/op and peak RSS: measured on Linux, n/a elsewhere.
	usage := `\S+ +\d+MiB`
	if !procstat.Supported() {
		usage = `n/a +n/a`
	}
	for _, target := range []string{"chorus", "chorus-nosync"} {
		for _, c := range []string{"4", "8"} {
			re := `(?m)^ *` + target + ` +` + c + ` +\d+ .* 0 +` + usage + ` +\d+\.\d\d× +\d+\.\d\d× *$`
			if !regexp.MustCompile(re).MatchString(r.stdout) {
				t.Errorf("no %s row at %s clients with 0 errors, the servers' usage and ratios to etcd:\n%s", target, c, r.stdout)
			}
		}
	}
	if !regexp.MustCompile(`(?m)^ *etcd +8 +\d+ .* 0 +` + usage + ` *$`).MatchString(r.stdout) {
		t.Errorf("no etcd row at 8 clients with 0 errors and the servers' usage:\n%s", r.stdout)
	}
	for _, re := range []string{
		`Chorus requests use N=3 R=2 W=2; etcd reads are linearizable\.`,
		`Idle, before the load \(\S+, no requests\): etcd (\d+ millicores|n/a), chorus (\d+ millicores|n/a)\.`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("no line %s:\n%s", re, r.stdout)
		}
	}
	for _, f := range []string{"compare.json", "compare.md"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	checkCompareJSON(t, filepath.Join(out, "compare.json"))
	for _, f := range []string{"compare-throughput.png", "compare-p99.png", "compare-latency-c4.png", "compare-latency-c8.png"} {
		checkPNG(t, filepath.Join(out, f))
	}
}

// TestCompareFlags: compare passes --value-size and --op to every run,
// idles 10 s by default, and names the quorum its Chorus requests use.
func TestCompareFlags(t *testing.T) {
	tests := []struct {
		args       []string
		wantSize   int
		wantOp     bench.Op
		wantQuorum string
		wantIdle   time.Duration
	}{
		{nil, 100, bench.OpPut, "N=3 R=2 W=2", 10 * time.Second},
		{[]string{"--value-size", "1024", "--op", "get", "--idle", "0"}, 1024, bench.OpGet, "N=3 R=2 W=2", 0},
		{[]string{"--r", "1"}, 100, bench.OpPut, "N=default R=1 W=default", 10 * time.Second},
	}
	for _, tt := range tests {
		f := &compareFlags{workloadFlags: workloadFlags{cfg: bench.DefaultConfig()}}
		fs := pflag.NewFlagSet("compare", pflag.ContinueOnError)
		f.addFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := f.config()
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if cfg.ValueSize != tt.wantSize || cfg.Op != tt.wantOp || f.quorum() != tt.wantQuorum || f.idle != tt.wantIdle {
			t.Errorf("%v: value size %d, op %s, quorum %q, idle %v; want %d, %s, %q, %v", tt.args,
				cfg.ValueSize, cfg.Op, f.quorum(), f.idle, tt.wantSize, tt.wantOp, tt.wantQuorum, tt.wantIdle)
		}
	}
}

// checkCompareJSON checks compare.json's resource figures: on Linux each
// run has a positive CPU per operation and three nodes' peak RSS, and
// each system an idle cost; elsewhere they are null.
func checkCompareJSON(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cmp struct {
		EtcdReads string `json:"etcd_reads"`
		Idle      []struct {
			System     string   `json:"system"`
			Millicores *float64 `json:"idle_millicores"`
		} `json:"idle"`
		Runs []struct {
			Target     string    `json:"target"`
			Clients    int       `json:"clients"`
			CPUUSPerOp *float64  `json:"cpu_us_per_op"`
			PeakRSSMiB *float64  `json:"peak_rss_mib"`
			Nodes      []float64 `json:"node_peak_rss_mib"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &cmp); err != nil {
		t.Fatal(err)
	}
	linux := procstat.Supported()
	if len(cmp.Runs) != 6 || cmp.EtcdReads != "linearizable" {
		t.Errorf("compare.json: %d runs, etcd reads %q; want 6, linearizable", len(cmp.Runs), cmp.EtcdReads)
	}
	for _, run := range cmp.Runs {
		measured := run.CPUUSPerOp != nil && *run.CPUUSPerOp > 0 && run.PeakRSSMiB != nil && *run.PeakRSSMiB > 0 && len(run.Nodes) == 3
		if measured != linux {
			t.Errorf("compare.json: %s at %d clients: cpu_us_per_op %v, peak_rss_mib %v, node_peak_rss_mib %v; want them measured: %v",
				run.Target, run.Clients, run.CPUUSPerOp, run.PeakRSSMiB, run.Nodes, linux)
		}
	}
	if len(cmp.Idle) != 2 {
		t.Fatalf("compare.json: idle costs of %d systems, want 2 (etcd, chorus)", len(cmp.Idle))
	}
	for _, ic := range cmp.Idle {
		if (ic.Millicores != nil && *ic.Millicores >= 0) != linux {
			t.Errorf("compare.json: idle cost of %s: %v; want measured: %v", ic.System, ic.Millicores, linux)
		}
	}
}

// buildChorus builds this command into a temporary directory.
func buildChorus(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chorus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBenchFailover kills a node of each target under writes and
// restarts it: the run completes, both events happen, and writes go on
// after the restart.
func TestBenchFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	targets := "chorus"
	if _, err := exec.LookPath("etcd"); err == nil {
		targets = "chorus,etcd"
	} else if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		targets = "chorus,etcd"
	}
	out := t.TempDir()
	r := runCLIWithin(t, 3*time.Minute, "", "bench", "failover", "--chorus-binary", buildChorus(t), "--targets", targets,
		"--port-offset", strconv.Itoa(freePortOffset(t)),
		"--duration", "5s", "--kill-at", "1500ms", "--restart-at", "3s", "--clients", "4", "--keys", "100", "--out", out)
	if r.code != 0 {
		t.Fatalf("bench failover: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, target := range strings.Split(targets, ",") {
		if !regexp.MustCompile(`(?m)^ *` + target + ` .* \d+ +\d+ +\d+ +\S+ +\S+ +\d+ +\S+ *$`).MatchString(r.stdout) {
			t.Errorf("no %s row:\n%s", target, r.stdout)
		}
		for _, event := range []string{"killed", "restarted"} {
			if !regexp.MustCompile(`failover: ` + event + ` \S+`).MatchString(r.stderr) {
				t.Errorf("%s: no %q line in the progress:\n%s", target, event, r.stderr)
			}
		}
	}
	var runs []struct {
		Target string  `json:"target"`
		After  float64 `json:"ops_per_sec_after"`
	}
	data, err := os.ReadFile(filepath.Join(out, "failover.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &runs); err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		if run.After <= 0 {
			t.Errorf("%s: no successful write after the restart", run.Target)
		}
	}
	checkPNG(t, filepath.Join(out, "failover.png"))
}
