package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chorusdb/chorus/repair"
	"github.com/chorusdb/chorus/storage"
)

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
		descAAEKeysRepaired, descAAEBytes, descAAERounds, descAAEBackoff, descAAEPaced,
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
