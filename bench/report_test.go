package bench

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sampleResult is a get run with a preload, built by hand so that every
// printed number is known.
func sampleResult() *Result {
	res := &Result{Config: DefaultConfig(), Elapsed: 2 * time.Second}
	res.Config.Op = OpGet
	pre := &OpStats{Op: "put", Count: 10, OpsPerSec: 100}
	for range 10 {
		pre.Latency.Record(time.Millisecond)
	}
	get := &OpStats{Op: "get", Count: 1003, OpsPerSec: 501.5, Misses: 2}
	for i := 1; i <= 1000; i++ {
		get.Latency.Record(time.Duration(i) * time.Microsecond)
	}
	get.addErrors("client: unavailable", 3)
	res.Preload, res.Ops = pre, []*OpStats{get}
	return res
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, sampleResult()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, re := range []string{
		`(?m)^ *op +ops +ops/s +p50 +p90 +p99 +p99\.9 +max +errors *$`,
		`(?m)^ *preload +10 +100 +1\.00ms +1\.00ms +1\.00ms +1\.00ms +1\.00ms +0 *$`,
		`(?m)^ *get +1003 +502 +(49|50)[0-9]µs +(89|90)[0-9]µs +(98|99)[0-9]µs +(99[0-9]|1000)µs +1\.00ms +3 *$`,
		`(?m)^get: 2 misses`,
		`(?m)^get: 3 errors: client: unavailable$`,
		`(?m)^elapsed 2s, 16 clients, seed 1$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("table lacks %s:\n%s", re, out)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleResult()); err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(b.Bytes(), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b.String())
	}
	if r.Op != "get" || r.ElapsedMS != 2000 || r.Preload == nil || r.Preload.P50MS < 0.99 || r.Preload.P50MS > 1.01 {
		t.Errorf("report header = %+v, preload %+v", r, r.Preload)
	}
	if len(r.Ops) != 1 {
		t.Fatalf("ops = %+v, want one", r.Ops)
	}
	g := r.Ops[0]
	if g.Count != 1003 || g.Errors != 3 || g.Misses != 2 || g.ErrorKinds["client: unavailable"] != 3 || g.MaxMS != 1 {
		t.Errorf("get report = %+v", g)
	}
	if g.P99MS < 0.98 || g.P99MS > 1 || g.MeanMS != 0.5005 {
		t.Errorf("p99 %v mean %v, want ~0.99 and 0.5005 (ms)", g.P99MS, g.MeanMS)
	}
	if !strings.Contains(b.String(), `"p999_ms"`) {
		t.Errorf("JSON lacks p999_ms: %s", b.String())
	}
}

func TestFmtDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		500: "500ns", 1500: "1.50µs", 842 * time.Microsecond: "842µs",
		1234 * time.Microsecond: "1.23ms", 12300 * time.Millisecond: "12.3s",
	} {
		if got := fmtDuration(d); got != want {
			t.Errorf("fmtDuration(%d) = %q, want %q", d, got, want)
		}
	}
}
