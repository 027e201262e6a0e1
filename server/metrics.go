package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chorusdb/chorus/hints"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/version"
)

// metricsSources are the components whose counters the metrics read at
// scrape time. Either may be nil: its metrics are then not exported.
// Each function must be safe to call from any goroutine.
type metricsSources struct {
	Hints       func() hints.Stats
	Coordinator func() replica.Stats
}

// metrics holds a node's Prometheus metrics in a registry of its own, so
// several nodes can live in one process (tests, the demo cluster) without
// colliding in the global registry. All methods are safe for concurrent use.
type metrics struct {
	reg *prometheus.Registry

	// requests holds the request-duration children resolved once at
	// construction, indexed [op][sloppy][failed], so observeRequest on
	// the put path does no label lookup and no allocation.
	requests     [numOps][2][2]prometheus.Observer
	requestsVec  *prometheus.HistogramVec
	siblings     prometheus.Histogram
	httpRequests *prometheus.CounterVec
	authDenied   *prometheus.CounterVec

	// recent feeds anti-entropy's backoff with the recent p99.
	recent latencyWindow
}

// The ops observeRequest knows; their index in metrics.requests.
const (
	opGet = iota
	opPut
	opDelete
	numOps
)

var opNames = [numOps]string{opGet: "get", opPut: "put", opDelete: "delete"}

// requestBuckets span 100 µs (a local in-memory quorum) to 5 s (past the
// default 2 s request timeout), about 2.5× apart.
var requestBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
}

// siblingBuckets: one sibling is the healthy case; the tail shows how
// many concurrent writers clients leave unresolved.
var siblingBuckets = []float64{1, 2, 3, 4, 6, 8, 16, 32}

// newMetrics builds the registry: Go runtime and process collectors, the
// request histograms, the HTTP counter and collectors for src.
func newMetrics(src metricsSources) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requestsVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "chorus_request_duration_seconds",
		Help:    "Duration of client get, put and delete requests coordinated by this node.",
		Buckets: requestBuckets,
	}, []string{"op", "quorum", "result"})
	for op, name := range opNames {
		for sloppy, q := range [2]string{"strict", "sloppy"} {
			for failed, res := range [2]string{"ok", "error"} {
				m.requests[op][sloppy][failed] = m.requestsVec.WithLabelValues(name, q, res)
			}
		}
	}
	m.siblings = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "chorus_siblings_per_read",
		Help:    "Number of live siblings returned by successful reads.",
		Buckets: siblingBuckets,
	})
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chorus_http_requests_total",
		Help: "HTTP requests served, by route and status code.",
	}, []string{"route", "code"})
	m.authDenied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chorus_auth_denied_total",
		Help: "Client requests refused by authorization, by API (http, grpc) and reason (unauthenticated: 401 / Unauthenticated; forbidden: 403 / PermissionDenied).",
	}, []string{"api", "reason"})
	for _, api := range []string{"http", "grpc"} {
		for _, reason := range []string{deniedUnauthenticated, deniedForbidden} {
			m.authDenied.WithLabelValues(api, reason) // exported at 0 from the start
		}
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requestsVec, m.siblings, m.httpRequests, buildInfo(version.Get()), m.authDenied,
	)
	if src.Coordinator != nil {
		m.reg.MustRegister(coordinatorCollector{src.Coordinator})
	}
	if src.Hints != nil {
		m.reg.MustRegister(hintsCollector{src.Hints})
	}
	return m
}

// buildInfo is the constant chorus_build_info{version,commit,go_version}
// 1, Prometheus's habit for joining a build's identity to other series.
func buildInfo(in version.Info) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "chorus_build_info",
		Help: "Always 1; the labels say which build runs (version, commit, Go toolchain).",
	}, []string{"version", "commit", "go_version"})
	g.WithLabelValues(in.Version, in.Commit, in.GoVersion).Set(1)
	return g
}

// registry returns the registry the metrics are registered in; callers
// may register more collectors.
func (m *metrics) registry() *prometheus.Registry { return m.reg }

// handler serves the registry in the Prometheus exposition formats.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// observeRequest records one client request: op is "get", "put" or
// "delete", sloppy whether a fallback stood in for a primary, err the
// request's outcome and d its duration.
func (m *metrics) observeRequest(op string, sloppy bool, err error, d time.Duration) {
	var o prometheus.Observer
	i := opIndex(op)
	if i < 0 {
		// Not on a hot path: an op the table does not know.
		o = m.requestsVec.WithLabelValues(op, quorumLabel(sloppy), resultLabel(err))
	} else {
		o = m.requests[i][b2i(sloppy)][b2i(err != nil)]
	}
	o.Observe(d.Seconds())
	m.recent.observe(d)
}

// recentP99 returns the p99 latency of the client requests of the last 5
// to 10 s, to a factor of two; 0 when there were too few.
func (m *metrics) recentP99() time.Duration { return m.recent.p99(time.Now()) }

// observeSiblings records the number of live siblings one read returned.
func (m *metrics) observeSiblings(n int) { m.siblings.Observe(float64(n)) }

// countHTTP counts one HTTP answer.
func (m *metrics) countHTTP(route string, code int) {
	m.httpRequests.WithLabelValues(route, codeLabel(code)).Inc()
}

// countDenied counts one request refused by authorization: api is "http"
// or "grpc", reason deniedUnauthenticated or deniedForbidden.
func (m *metrics) countDenied(api, reason string) {
	m.authDenied.WithLabelValues(api, reason).Inc()
}

func opIndex(op string) int {
	switch op {
	case "get":
		return opGet
	case "put":
		return opPut
	case "delete":
		return opDelete
	}
	return -1
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func quorumLabel(sloppy bool) string {
	if sloppy {
		return "sloppy"
	}
	return "strict"
}

func resultLabel(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// codeLabel avoids strconv's allocation for the codes the API answers.
func codeLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 204:
		return "204"
	case 300:
		return "300"
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 405:
		return "405"
	case 409:
		return "409"
	case 413:
		return "413"
	case 500:
		return "500"
	case 503:
		return "503"
	}
	return strconv.Itoa(code)
}

// coordinatorCollector exports replica.Stats. It reads the source once
// per scrape, so the figures of one scrape come from one snapshot.
type coordinatorCollector struct{ stats func() replica.Stats }

var (
	descSloppy = prometheus.NewDesc("chorus_sloppy_quorum_total",
		"Requests whose quorum included a fallback replica.", nil, nil)
	descQuorumFailures = prometheus.NewDesc("chorus_quorum_failures_total",
		"Requests that failed because their quorum was not met.", nil, nil)
	descReadRepairs = prometheus.NewDesc("chorus_read_repairs_total",
		"Stale or missing replicas sent a read repair.", nil, nil)
	descReadRepairsDropped = prometheus.NewDesc("chorus_read_repairs_dropped_total",
		"Read repairs skipped because the repair queue was full.", nil, nil)
	descDigestReads = prometheus.NewDesc("chorus_read_digests_total",
		"Replicas a read asked for a digest of their set instead of the set.", nil, nil)
	descDigestMismatches = prometheus.NewDesc("chorus_read_digest_mismatches_total",
		"Replicas a read asked for a digest and then for their set, the digest matching no set the read had.", nil, nil)
	descHinted = prometheus.NewDesc("chorus_hinted_writes_total",
		"Writes this node accepted as a fallback on behalf of a primary.", nil, nil)
)

func (c coordinatorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSloppy, descQuorumFailures,
		descReadRepairs, descReadRepairsDropped, descDigestReads, descDigestMismatches, descHinted} {
		ch <- d
	}
}

func (c coordinatorCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(descSloppy, s.Sloppy)
	counter(descQuorumFailures, s.QuorumFailures)
	counter(descReadRepairs, s.ReadRepairs)
	counter(descReadRepairsDropped, s.ReadRepairsDropped)
	counter(descDigestReads, s.DigestReads)
	counter(descDigestMismatches, s.DigestMismatches)
	counter(descHinted, s.Hinted)
}

// hintsCollector exports hints.Stats, one snapshot per scrape.
type hintsCollector struct{ stats func() hints.Stats }

var (
	descHintsQueued = prometheus.NewDesc("chorus_hints_queued",
		"Hints waiting for delivery.", nil, nil)
	descHintsQueuedBytes = prometheus.NewDesc("chorus_hints_queued_bytes",
		"Payload bytes of the hints waiting for delivery.", nil, nil)
	descHintsDelivered = prometheus.NewDesc("chorus_hints_delivered_total",
		"Hints acknowledged by their owner.", nil, nil)
	descHintsDropped = prometheus.NewDesc("chorus_hints_dropped_total",
		"Hints given up: expired (age), refused because the queue was full (full), or undecodable (corrupt).",
		[]string{"reason"}, nil)
	descHintsOldest = prometheus.NewDesc("chorus_hints_oldest_age_seconds",
		"Age of the oldest queued hint (an upper bound), 0 when none is queued.", nil, nil)
)

func (c hintsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHintsQueued, descHintsQueuedBytes,
		descHintsDelivered, descHintsDropped, descHintsOldest} {
		ch <- d
	}
}

func (c hintsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(descHintsQueued, prometheus.GaugeValue, float64(s.Queued))
	ch <- prometheus.MustNewConstMetric(descHintsQueuedBytes, prometheus.GaugeValue, float64(s.QueuedBytes))
	ch <- prometheus.MustNewConstMetric(descHintsDelivered, prometheus.CounterValue, float64(s.Delivered))
	ch <- prometheus.MustNewConstMetric(descHintsDropped, prometheus.CounterValue, float64(s.DroppedAge), "age")
	ch <- prometheus.MustNewConstMetric(descHintsDropped, prometheus.CounterValue, float64(s.DroppedFull), "full")
	ch <- prometheus.MustNewConstMetric(descHintsDropped, prometheus.CounterValue, float64(s.DroppedCorrupt), "corrupt")
	ch <- prometheus.MustNewConstMetric(descHintsOldest, prometheus.GaugeValue, s.OldestAge.Seconds())
}
