package bench

import (
	"context"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/bench/procstat"
	"github.com/chorusdb/chorus/chorustest"
)

// report is a Report of one operation kind at opsPerSec with the given
// p50, p99 and p99.9 in microseconds.
func report(op string, opsPerSec, p50, p99, p999 float64, errs int64) *Report {
	return &Report{Ops: []*OpReport{{Op: op, OpsPerSec: opsPerSec, P50MS: p50 / 1000, P99MS: p99 / 1000, P999MS: p999 / 1000, Errors: errs}}}
}

func TestCompareRatios(t *testing.T) {
	tests := []struct {
		name               string
		run, base          *Report
		wantOps, wantP99   float64
		wantMainOp, wantTo string
	}{
		{"faster and shorter tail", report("put", 12000, 800, 4000, 9000, 0), report("put", 8000, 900, 8000, 20000, 0), 1.5, 0.5, "put", ""},
		{"slower, longer tail", report("get", 5000, 900, 9000, 9900, 0), report("get", 10000, 900, 3000, 9000, 0), 0.5, 3, "get", ""},
		// A base that did nothing keeps the ratios finite.
		{"empty base", report("put", 100, 1, 2, 3, 0), &Report{}, 100 / 1e-9, 2 / 1e-3, "put", ""},
	}
	for _, tt := range tests {
		r, b := &CompareRun{Report: tt.run}, &CompareRun{Report: tt.base}
		ops, p99 := r.Ratios(b)
		if math.Abs(ops-tt.wantOps) > 1e-9*tt.wantOps || math.Abs(p99-tt.wantP99) > 1e-9*tt.wantP99 {
			t.Errorf("%s: ratios %v, %v; want %v, %v", tt.name, ops, p99, tt.wantOps, tt.wantP99)
		}
		if got := r.MainOp().Op; got != tt.wantMainOp {
			t.Errorf("%s: main op %q, want %q", tt.name, got, tt.wantMainOp)
		}
	}
}

func TestWriteCompareTable(t *testing.T) {
	runs := []*CompareRun{
		{Target: "chorus", Clients: 16, Report: report("put", 12000, 1200, 4000, 9000, 0), CPUUSPerOp: ptr(463.0), PeakRSSMiB: ptr(87.4)},
		{Target: "chorus-nosync", Clients: 16, Report: report("put", 16000, 800, 2000, 5000, 2), CPUUSPerOp: ptr(1050.0), PeakRSSMiB: ptr(91.0)},
		{Target: "chorus", Clients: 64, Report: report("put", 9000, 3000, 12000, 30000, 0)}, // no etcd run at 64; not measured
		{Target: "etcd", Clients: 16, Report: report("put", 8000, 1500, 8000, 20000, 0), CPUUSPerOp: ptr(309.0), PeakRSSMiB: ptr(40.0)},
	}
	var b strings.Builder
	if err := WriteCompareTable(&b, runs); err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^ *chorus +16 +12000 +1\.20ms +4\.00ms +9\.00ms +0 +463µs +87MiB +1\.50× +0\.50× *$`,
		`(?m)^ *chorus-nosync +16 +16000 +800µs +2\.00ms +5\.00ms +2 +1\.05ms +91MiB +2\.00× +0\.25× *$`,
		`(?m)^ *chorus +64 +9000 +3\.00ms +12\.0ms +30\.0ms +0 +n/a +n/a *$`,
		`(?m)^ *etcd +16 +8000 +1\.50ms +8\.00ms +20\.0ms +0 +309µs +40MiB *$`,
		`(?m)^ *target +clients +ops/s +p50 +p99 +p99\.9 +errors +cpu/op +peak RSS +ops/s vs etcd +p99 vs etcd *$`,
	} {
		if !regexp.MustCompile(re).MatchString(b.String()) {
			t.Errorf("table lacks %s:\n%s", re, b.String())
		}
	}
}

func TestCompareTitle(t *testing.T) {
	cfg := DefaultConfig()
	if got, want := CompareTitle(cfg), "100% put, uniform keys, 10000 keys, 100-byte values, 10s per run"; got != want {
		t.Errorf("CompareTitle = %q, want %q", got, want)
	}
	cfg.ValueSizeMax = 1000
	if got := CompareTitle(cfg); !strings.Contains(got, "100-1000-byte values") {
		t.Errorf("CompareTitle with a size range = %q", got)
	}
}

// TestCompareRunsEveryTarget runs two targets at two client counts: four
// runs, client counts outer, each with its own report.
func TestCompareRunsEveryTarget(t *testing.T) {
	load := DefaultConfig()
	load.Duration, load.Ops = 0, 100
	a, b := newFake(), newFake()
	runs, err := Compare(context.Background(), load, []int{2, 4}, []NamedTarget{{Name: "a", Target: a}, {Name: "b", Target: b}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, r.Target+"/"+itoa(r.Clients))
		if s := r.MainOp(); s.Count != 100 || r.Errors() != 10 {
			t.Errorf("%s with %d clients: %d ops, %d errors; want 100 and 10 (every 10th put fails)", r.Target, r.Clients, s.Count, r.Errors())
		}
	}
	if strings.Join(got, " ") != "a/2 b/2 a/4 b/4" {
		t.Errorf("runs %v, want a/2 b/2 a/4 b/4", got)
	}
	if a.puts != 200 || b.puts != 200 {
		t.Errorf("puts a %d b %d, want 200 each", a.puts, b.puts)
	}
	if _, err := Compare(context.Background(), load, nil, []NamedTarget{{Name: "a", Target: a}}); err == nil {
		t.Error("Compare without client counts succeeded")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestCompareRunSetUsage: CPU per operation divides by every answered
// operation of every kind; peak RSS is the largest node's.
func TestCompareRunSetUsage(t *testing.T) {
	rep := &Report{Ops: []*OpReport{{Op: "get", Count: 150, Errors: 10}, {Op: "put", Count: 50}}}
	r := &CompareRun{Report: rep}
	r.setUsage(100*time.Millisecond, []int64{100 << 20, 150 << 20, 120 << 20})
	if r.ServerCPUMS == nil || *r.ServerCPUMS != 100 {
		t.Errorf("server_cpu_ms %v, want 100", r.ServerCPUMS)
	}
	if r.CPUUSPerOp == nil || *r.CPUUSPerOp != 500 {
		t.Errorf("cpu_us_per_op %v, want 500 (100 ms over 200 ops)", r.CPUUSPerOp)
	}
	if r.PeakRSSMiB == nil || *r.PeakRSSMiB != 150 || !slices.Equal(r.NodePeakRSSMiB, []float64{100, 150, 120}) {
		t.Errorf("peak_rss_mib %v, node_peak_rss_mib %v; want 150 of [100 150 120]", r.PeakRSSMiB, r.NodePeakRSSMiB)
	}
	idle := &CompareRun{Report: &Report{}}
	idle.setUsage(time.Second, nil)
	if idle.CPUUSPerOp != nil || idle.PeakRSSMiB != nil {
		t.Errorf("a run without operations or processes: cpu_us_per_op %v, peak_rss_mib %v; want nil", idle.CPUUSPerOp, idle.PeakRSSMiB)
	}
}

// TestCompareMeasuresServers runs Compare with this test's own process
// as the "server": on Linux every run reports its CPU and peak RSS;
// elsewhere, and for a target without PIDs, they are not measured. A
// process that is gone leaves the run unmeasured, with a note.
func TestCompareMeasuresServers(t *testing.T) {
	load := DefaultConfig()
	load.Duration, load.Ops = 0, 2000
	var progress chorustest.Buffer
	load.Progress = &progress
	self := func() []int { return []int{os.Getpid()} }
	gone := func() []int { return []int{1 << 30} }
	runs, err := Compare(context.Background(), load, []int{2}, []NamedTarget{
		{Name: "metered", Target: newFake(), PIDs: self},
		{Name: "plain", Target: newFake()},
		{Name: "gone", Target: newFake(), PIDs: gone},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := runs[0]
	if procstat.Supported() {
		if m.ServerCPUMS == nil || m.CPUUSPerOp == nil || *m.CPUUSPerOp < 0 || m.PeakRSSMiB == nil || *m.PeakRSSMiB <= 0 || len(m.NodePeakRSSMiB) != 1 {
			t.Errorf("metered run: server_cpu_ms %v, cpu_us_per_op %v, peak_rss_mib %v, node_peak_rss_mib %v; want all measured",
				m.ServerCPUMS, m.CPUUSPerOp, m.PeakRSSMiB, m.NodePeakRSSMiB)
		}
		if !strings.Contains(progress.String(), "compare: gone: server CPU and memory not measured") {
			t.Errorf("no note on the process that is gone:\n%s", progress.String())
		}
	} else if m.CPUUSPerOp != nil || m.PeakRSSMiB != nil {
		t.Errorf("without /proc: cpu_us_per_op %v, peak_rss_mib %v; want nil", m.CPUUSPerOp, m.PeakRSSMiB)
	}
	for _, r := range runs[1:] {
		if r.ServerCPUMS != nil || r.CPUUSPerOp != nil || r.PeakRSSMiB != nil || r.NodePeakRSSMiB != nil {
			t.Errorf("%s: measured (%v, %v, %v), want nil", r.Target, r.ServerCPUMS, r.CPUUSPerOp, r.PeakRSSMiB)
		}
	}
}

func TestWriteComparison(t *testing.T) {
	c := &Comparison{ChorusQuorum: "N=3 R=2 W=2", EtcdReads: "linearizable",
		Idle: []*IdleCost{{System: "etcd", WindowMS: 10000, Millicores: ptr(8.4)}, {System: "chorus", WindowMS: 10000}},
		Runs: []*CompareRun{{Target: "etcd", Clients: 4, Report: report("get", 100, 1, 2, 3, 0)}}}
	var b strings.Builder
	if err := WriteComparison(&b, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Chorus requests use N=3 R=2 W=2; etcd reads are linearizable.\n",
		"Idle, before the load (10.0s, no requests): etcd 8 millicores, chorus n/a.\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in:\n%s", want, b.String())
		}
	}
}
