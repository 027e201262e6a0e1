package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/chorusdb/chorus/hints"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/version"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// gatherMetric returns the metric of family name whose labels include
// labels, failing the test when there is none.
func gatherMetric(t *testing.T, m *metrics, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	fams, err := m.registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, mt := range f.GetMetric() {
			have := map[string]string{}
			for _, lp := range mt.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			return mt
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return nil
}

// gatherValue returns the value of a counter or gauge.
func gatherValue(t *testing.T, m *metrics, name string, labels map[string]string) float64 {
	t.Helper()
	mt := gatherMetric(t, m, name, labels)
	switch {
	case mt.Counter != nil:
		return mt.Counter.GetValue()
	case mt.Gauge != nil:
		return mt.Gauge.GetValue()
	}
	t.Fatalf("%s%v is neither counter nor gauge", name, labels)
	return 0
}

func TestMetricsObserveRequest(t *testing.T) {
	m := newMetrics(metricsSources{})
	m.observeRequest("put", false, nil, 300*time.Microsecond)
	m.observeRequest("put", false, nil, 2*time.Millisecond)
	m.observeRequest("put", true, nil, time.Millisecond)
	m.observeRequest("get", false, errors.New("quorum"), 2*time.Second)
	m.observeRequest("delete", true, errors.New("quorum"), time.Second)
	m.observeRequest("scan", false, nil, time.Millisecond) // unknown op: slow path, still recorded
	tests := []struct {
		op, quorum, result string
		count              uint64
		sum                float64
	}{
		{"put", "strict", "ok", 2, 0.0023},
		{"put", "sloppy", "ok", 1, 0.001},
		{"put", "strict", "error", 0, 0},
		{"get", "strict", "error", 1, 2},
		{"get", "sloppy", "ok", 0, 0},
		{"delete", "sloppy", "error", 1, 1},
		{"scan", "strict", "ok", 1, 0.001},
	}
	for _, tt := range tests {
		h := gatherMetric(t, m, "chorus_request_duration_seconds",
			map[string]string{"op": tt.op, "quorum": tt.quorum, "result": tt.result}).GetHistogram()
		if h.GetSampleCount() != tt.count || !near(h.GetSampleSum(), tt.sum) {
			t.Errorf("%s/%s/%s: count %d sum %v, want %d %v", tt.op, tt.quorum, tt.result,
				h.GetSampleCount(), h.GetSampleSum(), tt.count, tt.sum)
		}
	}
	h := gatherMetric(t, m, "chorus_request_duration_seconds",
		map[string]string{"op": "put", "quorum": "strict", "result": "ok"}).GetHistogram()
	b := h.GetBucket()
	if lo, hi := b[0].GetUpperBound(), b[len(b)-1].GetUpperBound(); lo != 0.0001 || hi != 5 {
		t.Errorf("buckets span %v..%v, want 0.0001..5", lo, hi)
	}
	// 300 µs lands in the 0.0005 bucket, not in 0.00025.
	for _, bk := range b[:3] {
		want := uint64(0)
		if bk.GetUpperBound() == 0.0005 {
			want = 1
		}
		if bk.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v: %d, want %d", bk.GetUpperBound(), bk.GetCumulativeCount(), want)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestMetricsObserveAllocs(t *testing.T) {
	m := newMetrics(metricsSources{})
	err := errors.New("x")
	allocs := testing.AllocsPerRun(1000, func() {
		m.observeRequest("put", true, err, time.Millisecond)
		m.observeRequest("get", false, nil, time.Millisecond)
		m.observeSiblings(2)
	})
	if allocs != 0 {
		t.Errorf("observe allocates %v times per call, want 0", allocs)
	}
}

func TestMetricsSiblings(t *testing.T) {
	m := newMetrics(metricsSources{})
	for _, n := range []int{1, 1, 1, 3} {
		m.observeSiblings(n)
	}
	h := gatherMetric(t, m, "chorus_siblings_per_read", nil).GetHistogram()
	if h.GetSampleCount() != 4 || h.GetSampleSum() != 6 {
		t.Errorf("count %d sum %v, want 4 6", h.GetSampleCount(), h.GetSampleSum())
	}
}

func TestMetricsSources(t *testing.T) {
	var mu sync.Mutex
	rs := replica.Stats{Sloppy: 4, QuorumFailures: 2, ReadRepairs: 7, ReadRepairsDropped: 1, Hinted: 9,
		DigestReads: 12, DigestMismatches: 3}
	hs := hints.Stats{Queued: 3, QueuedBytes: 300, Delivered: 11, DroppedAge: 1, DroppedFull: 2,
		DroppedCorrupt: 5, OldestAge: 1500 * time.Millisecond}
	m := newMetrics(metricsSources{
		Coordinator: func() replica.Stats { mu.Lock(); defer mu.Unlock(); return rs },
		Hints:       func() hints.Stats { mu.Lock(); defer mu.Unlock(); return hs },
	})
	check := func(want map[string]float64) {
		t.Helper()
		for key, v := range want {
			name, labels := key, map[string]string(nil)
			if i := strings.IndexByte(key, '/'); i >= 0 {
				name, labels = key[:i], map[string]string{"reason": key[i+1:]}
			}
			if got := gatherValue(t, m, name, labels); got != v {
				t.Errorf("%s = %v, want %v", key, got, v)
			}
		}
	}
	check(map[string]float64{
		"chorus_sloppy_quorum_total":          4,
		"chorus_quorum_failures_total":        2,
		"chorus_read_repairs_total":           7,
		"chorus_read_repairs_dropped_total":   1,
		"chorus_read_digests_total":           12,
		"chorus_read_digest_mismatches_total": 3,
		"chorus_hinted_writes_total":          9,
		"chorus_hints_queued":                 3,
		"chorus_hints_queued_bytes":           300,
		"chorus_hints_delivered_total":        11,
		"chorus_hints_dropped_total/age":      1,
		"chorus_hints_dropped_total/full":     2,
		"chorus_hints_dropped_total/corrupt":  5,
		"chorus_hints_oldest_age_seconds":     1.5,
	})
	// Values are read at scrape time, not at construction.
	mu.Lock()
	rs.Sloppy, hs.Queued = 40, 0
	mu.Unlock()
	check(map[string]float64{"chorus_sloppy_quorum_total": 40, "chorus_hints_queued": 0})
}

func TestMetricsNilSources(t *testing.T) {
	m := newMetrics(metricsSources{})
	fams, err := m.registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "chorus_hints_") || f.GetName() == "chorus_sloppy_quorum_total" {
			t.Errorf("%s exported without a source", f.GetName())
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	m := newMetrics(metricsSources{
		Coordinator: func() replica.Stats { return replica.Stats{QuorumFailures: 17} },
		Hints:       func() hints.Stats { return hints.Stats{DroppedFull: 23} },
	})
	m.observeRequest("put", true, nil, time.Millisecond)
	m.observeSiblings(2)
	h := newHTTPHandler(&fakeKV{}, nil, m, httpConfig{})
	doWith(t, h, "GET", "/v1/kv/", nil, nil) // a counted 400
	rec := doWith(t, h, "GET", "/metrics", nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("code = %d, want 200", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`chorus_request_duration_seconds_bucket{op="put",quorum="sloppy",result="ok",le="0.001"} 1`,
		`chorus_request_duration_seconds_count{op="get",quorum="strict",result="error"} 0`,
		`chorus_siblings_per_read_count 1`,
		`chorus_quorum_failures_total 17`,
		`chorus_hints_dropped_total{reason="full"} 23`,
		`chorus_http_requests_total{code="400",route="kv_get"} 1`,
		"chorus_sloppy_quorum_total 0",
		"chorus_read_repairs_total 0",
		"chorus_read_repairs_dropped_total 0",
		"chorus_read_digests_total 0",
		"chorus_read_digest_mismatches_total 0",
		"chorus_hinted_writes_total 0",
		"chorus_hints_queued 0",
		"chorus_hints_queued_bytes 0",
		"chorus_hints_delivered_total 0",
		"chorus_hints_oldest_age_seconds 0",
		"go_goroutines ",
		fmt.Sprintf(`chorus_build_info{commit=%q,go_version=%q,version=%q} 1`,
			version.Get().Commit, version.Get().GoVersion, version.Get().Version),
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The process collector reads /proc; elsewhere it exports less.
	if runtime.GOOS == "linux" && !strings.Contains(string(body), "process_cpu_seconds_total ") {
		t.Errorf("/metrics lacks the process collector's process_cpu_seconds_total")
	}
}

func TestMetricsConcurrent(t *testing.T) {
	m := newMetrics(metricsSources{Coordinator: func() replica.Stats { return replica.Stats{} }})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 500 {
				m.observeRequest(opNames[(i+j)%numOps], j%2 == 0, nil, time.Duration(j)*time.Microsecond)
				m.observeSiblings(1 + j%3)
				m.countHTTP("kv_get", 200)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := m.registry().Gather(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if got := gatherValue(t, m, "chorus_http_requests_total", map[string]string{"route": "kv_get", "code": "200"}); got != 4000 {
		t.Errorf("http requests = %v, want 4000", got)
	}
	if got := gatherMetric(t, m, "chorus_siblings_per_read", nil).GetHistogram().GetSampleCount(); got != 4000 {
		t.Errorf("siblings observations = %d, want 4000", got)
	}
}
