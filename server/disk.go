package server

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chorusdb/chorus/repair"
	"github.com/chorusdb/chorus/storage"
)

// Disk: storage's background garbage collection backs off by the same
// signal as anti-entropy (the recent client p99 against
// Config.AntiEntropy.BackoffAbove), and its figures are exported.

// gcBackoff is how long storage's garbage collection waits before asking
// again while foreground latency is high: a value log rewrite or a
// flatten is one long step, so it waits for a calm that lasts, not for
// the next 50 ms.
const gcBackoff = 5 * time.Second

// diskState is what the node keeps for its storage's garbage collection.
// The metrics exist only once the coordinator does, after storage opened,
// so the throttle reads them through an atomic pointer.
type diskState struct {
	metrics      atomic.Pointer[metrics]
	backoffAbove time.Duration
}

// throttle is storage.Options.GCThrottle: gcBackoff while the recent
// client p99 is above the anti-entropy threshold, else 0.
func (d *diskState) throttle() time.Duration {
	m := d.metrics.Load()
	if m == nil || m.recentP99() <= d.backoffAbove {
		return 0
	}
	return gcBackoff
}

// gcOptions sets the garbage collection interval and hook of storage
// options.
func (n *Node) gcOptions(opts *storage.Options) {
	n.disk.backoffAbove = n.cfg.AntiEntropy.BackoffAbove
	if n.disk.backoffAbove == 0 {
		n.disk.backoffAbove = repair.DefaultBackoffAbove
	}
	opts.GCThrottle = n.disk.throttle
	opts.GCInterval = n.cfg.StorageGCInterval
}

// startDiskMetrics lets the throttle read the request latency and exports
// the disk figures; called once the metrics exist.
func (n *Node) startDiskMetrics() {
	n.disk.metrics.Store(n.metrics)
	n.metrics.registry().MustRegister(diskCollector{stats: n.db.Stats})
}

// diskCollector exports storage's disk, key and GC figures, one
// storage.Stats snapshot per scrape.
type diskCollector struct{ stats func() storage.Stats }

var (
	descDiskBytes = prometheus.NewDesc("chorus_disk_bytes",
		"Disk space of this node's store, allocated bytes: the engine's LSM tree (lsm: tables, memtable logs, manifest), its value log (vlog) and the commit log (log).",
		[]string{"kind"}, nil)
	descLiveKeys = prometheus.NewDesc("chorus_live_keys",
		"Keys this node stores that are not deleted (exact: counted at start, then kept on every write).", nil, nil)
	descTombstoneKeys = prometheus.NewDesc("chorus_tombstone_keys",
		"Deleted keys this node stores (every sibling a tombstone), waiting for tombstone collection.", nil, nil)
	descGCPasses = prometheus.NewDesc("chorus_storage_gc_passes_total",
		"Background garbage collection passes of this node's store.", nil, nil)
	descGCRewrites = prometheus.NewDesc("chorus_storage_gc_rewrites_total",
		"Value log files rewritten by garbage collection.", nil, nil)
	descGCFlattens = prometheus.NewDesc("chorus_storage_gc_flattens_total",
		"LSM trees flattened by garbage collection (the store was idle after enough writes).", nil, nil)
	descGCReclaimed = prometheus.NewDesc("chorus_storage_gc_reclaimed_bytes_total",
		"Disk space garbage collection gave back, measured around each step.", nil, nil)
	descGCBackoff = prometheus.NewDesc("chorus_storage_gc_backoff_seconds_total",
		"Time garbage collection waited for the client p99 to come down.", nil, nil)
)

func (c diskCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDiskBytes, descLiveKeys, descTombstoneKeys,
		descGCPasses, descGCRewrites, descGCFlattens, descGCReclaimed, descGCBackoff} {
		ch <- d
	}
}

func (c diskCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(descDiskBytes, float64(s.DiskLSMBytes), "lsm")
	gauge(descDiskBytes, float64(s.DiskVlogBytes), "vlog")
	gauge(descDiskBytes, float64(s.DiskLogBytes), "log")
	gauge(descLiveKeys, float64(s.Keys-s.TombstoneKeys))
	gauge(descTombstoneKeys, float64(s.TombstoneKeys))
	counter(descGCPasses, float64(s.GCPasses))
	counter(descGCRewrites, float64(s.GCRewrites))
	counter(descGCFlattens, float64(s.GCFlattens))
	counter(descGCReclaimed, float64(s.GCReclaimedBytes))
	counter(descGCBackoff, s.GCBackoffTime.Seconds())
}
