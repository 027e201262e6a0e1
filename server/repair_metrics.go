package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/repair"
	"github.com/chorusdb/chorus/storage"
)

// handoffCollector exports the handoff manager's and the tombstone
// collector's figures, one snapshot per scrape.
type handoffCollector struct {
	status     func() handoff.Status
	tombstones func() repair.CollectStats
}

var (
	descHandoffTransfers = prometheus.NewDesc("chorus_handoff_transfers",
		"Partitions this node still pulls after a ring change, by state (waiting, running, stalled).",
		[]string{"state"}, nil)
	descHandoffDone = prometheus.NewDesc("chorus_handoff_completed_total",
		"Partition transfers this node completed.", nil, nil)
	descHandoffKeys = prometheus.NewDesc("chorus_handoff_keys_total",
		"Keys pulled by handoff.", nil, nil)
	descHandoffBytes = prometheus.NewDesc("chorus_handoff_bytes_total",
		"Bytes pulled by handoff.", nil, nil)
	descHandoffOwed = prometheus.NewDesc("chorus_handoff_owed",
		"Handoffs this node owes new owners (after a leave or a ring change), by state (owed, delivered).",
		[]string{"state"}, nil)
	descTombstonesCollected = prometheus.NewDesc("chorus_tombstones_collected_total",
		"Tombstones removed here after every primary held them for the grace period.", nil, nil)
	descTombstonesHeld = prometheus.NewDesc("chorus_tombstones_held_total",
		"Old tombstones kept because a primary held a different set or did not answer.", nil, nil)
)

func (c handoffCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHandoffTransfers, descHandoffDone, descHandoffKeys,
		descHandoffBytes, descHandoffOwed, descTombstonesCollected, descTombstonesHeld} {
		ch <- d
	}
}

func (c handoffCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(descHandoffTransfers, float64(s.Waiting), "waiting")
	gauge(descHandoffTransfers, float64(s.InFlight), "running")
	gauge(descHandoffTransfers, float64(s.Stalled), "stalled")
	counter(descHandoffDone, float64(s.Done))
	counter(descHandoffKeys, float64(s.Keys))
	counter(descHandoffBytes, float64(s.Bytes))
	gauge(descHandoffOwed, float64(s.Owed), "owed")
	gauge(descHandoffOwed, float64(s.Delivered), "delivered")
	t := c.tombstones()
	counter(descTombstonesCollected, float64(t.Collected))
	counter(descTombstonesHeld, float64(t.Held))
}

// repairCollector exports anti-entropy's counters and the tree rebuild, one
// snapshot per scrape.
type repairCollector struct {
	stats func() repair.Stats
	trees func() storage.TreeProgress
}

var (
	descAAEExchanges = prometheus.NewDesc("chorus_aae_exchanges_total",
		"Anti-entropy exchanges by outcome: ok, failed, or not_ready (a tree was being rebuilt).",
		[]string{"result"}, nil)
	descAAESegments = prometheus.NewDesc("chorus_aae_segments_compared_total",
		"Segment hashes fetched from peers and compared.", nil, nil)
	descAAEKeysCompared = prometheus.NewDesc("chorus_aae_keys_compared_total",
		"Keys of differing segments whose hashes were compared.", nil, nil)
	descAAEKeysRepaired = prometheus.NewDesc("chorus_aae_keys_repaired_total",
		"Keys written by anti-entropy, here or on the peer.", nil, nil)
	descAAEBytes = prometheus.NewDesc("chorus_aae_bytes_total",
		"Payload bytes of anti-entropy exchanges, by direction (sent, received).", []string{"direction"}, nil)
	descAAERounds = prometheus.NewDesc("chorus_aae_rounds_total",
		"Completed walks over every (partition, peer) pair.", nil, nil)
	descAAESkipped = prometheus.NewDesc("chorus_aae_skipped_total",
		"Pairs a walk passed over: unchanged here since an exchange found the roots equal.", nil, nil)
	descAAEBackoff = prometheus.NewDesc("chorus_aae_backoff_seconds_total",
		"Time anti-entropy waited because foreground p99 latency was high.", nil, nil)
	descAAEPaced = prometheus.NewDesc("chorus_aae_paced_seconds_total",
		"Time anti-entropy waited for its keys/bytes per second budget.", nil, nil)
	descAAETreesReady = prometheus.NewDesc("chorus_aae_trees_ready",
		"1 once the anti-entropy trees are rebuilt after start, else 0.", nil, nil)
	descAAETreeKeys = prometheus.NewDesc("chorus_aae_tree_rebuild_keys",
		"Keys added to the trees by the rebuild after start.", nil, nil)
)

func (c repairCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAAEExchanges, descAAESegments, descAAEKeysCompared,
		descAAEKeysRepaired, descAAEBytes, descAAERounds, descAAESkipped, descAAEBackoff, descAAEPaced,
		descAAETreesReady, descAAETreeKeys} {
		ch <- d
	}
}

func (c repairCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	ok := s.Exchanges - s.Failures - s.NotReady
	counter(descAAEExchanges, float64(ok), "ok")
	counter(descAAEExchanges, float64(s.Failures), "failed")
	counter(descAAEExchanges, float64(s.NotReady), "not_ready")
	counter(descAAESegments, float64(s.SegmentHashes))
	counter(descAAEKeysCompared, float64(s.KeysCompared))
	counter(descAAEKeysRepaired, float64(s.KeysRepaired))
	counter(descAAEBytes, float64(s.BytesSent), "sent")
	counter(descAAEBytes, float64(s.BytesReceived), "received")
	counter(descAAERounds, float64(s.Rounds))
	counter(descAAESkipped, float64(s.Skipped))
	counter(descAAEBackoff, s.BackoffTime.Seconds())
	counter(descAAEPaced, s.PacedTime.Seconds())
	t := c.trees()
	ready := 0.0
	if t.Ready {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(descAAETreesReady, prometheus.GaugeValue, ready)
	ch <- prometheus.MustNewConstMetric(descAAETreeKeys, prometheus.GaugeValue, float64(t.Keys))
}
