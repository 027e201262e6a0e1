package bench

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
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
		{Target: "chorus", Clients: 16, Report: report("put", 12000, 1200, 4000, 9000, 0)},
		{Target: "chorus-nosync", Clients: 16, Report: report("put", 16000, 800, 2000, 5000, 2)},
		{Target: "chorus", Clients: 64, Report: report("put", 9000, 3000, 12000, 30000, 0)}, // no etcd run at 64
		{Target: "etcd", Clients: 16, Report: report("put", 8000, 1500, 8000, 20000, 0)},
	}
	var b strings.Builder
	if err := WriteCompareTable(&b, runs); err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^ *chorus +16 +12000 +1\.20ms +4\.00ms +9\.00ms +0 +1\.50× +0\.50× *$`,
		`(?m)^ *chorus-nosync +16 +16000 +800µs +2\.00ms +5\.00ms +2 +2\.00× +0\.25× *$`,
		`(?m)^ *chorus +64 +9000 +3\.00ms +12\.0ms +30\.0ms +0 *$`,
		`(?m)^ *etcd +16 +8000 +1\.50ms +8\.00ms +20\.0ms +0 *$`,
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
	runs, err := Compare(context.Background(), load, []int{2, 4}, []NamedTarget{{"a", a}, {"b", b}})
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
	if _, err := Compare(context.Background(), load, nil, []NamedTarget{{"a", a}}); err == nil {
		t.Error("Compare without client counts succeeded")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
