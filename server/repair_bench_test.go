package server_test

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/memcluster"
	"github.com/chorusdb/chorus/vclock"
)

var (
	aaeBenchKeys = flag.Int("aae.keys", 100_000, "keys of BenchmarkAntiEntropyRepair")
	aaeBenchRate = flag.Int("aae.rate", 0, "anti-entropy keys/s budget of BenchmarkAntiEntropyRepair (0: unpaced)")
)

// BenchmarkAntiEntropyRepair measures one anti-entropy round over a 3-node
// in-memory cluster whose replicas hold -aae.keys keys each (100 B values),
// 1% of which were written on one replica only: the time, the keys
// compared and the bytes exchanged to converge. The data is loaded into
// storage directly, as replicas that agree. For the figure in
// docs/results.md:
//
//	go test -run xxx -bench AntiEntropyRepair -benchtime 1x ./server/ -aae.keys 1000000
func BenchmarkAntiEntropyRepair(b *testing.B) {
	keys := *aaeBenchKeys
	for b.Loop() {
		b.StopTimer()
		var skew atomic.Int64
		c := newTestClusterWith(b, 1, func(cfg *server.Config) {
			manualRepair(&skew)(cfg)
			cfg.AntiEntropy.KeysPerSecond = 1 << 30
			cfg.AntiEntropy.BytesPerSecond = 1 << 40
			if *aaeBenchRate > 0 {
				cfg.AntiEntropy.KeysPerSecond = *aaeBenchRate
			}
		}, three...)
		c.waitTreesReady()
		start := time.Now()
		loadAgreeing(b, c, keys)
		b.Logf("loaded %d keys on 3 replicas in %v", keys, time.Since(start).Round(time.Millisecond))
		diverged := keys / 100
		for i := range diverged {
			node := three[i%3]
			c.writeDirect(node, benchKey(i*100), vclock.Value{Data: make([]byte, 100)})
		}
		b.StartTimer()
		start = time.Now()
		res := c.repairAllCtx(context.Background())
		took := time.Since(start)
		b.StopTimer()
		var sent, received uint64
		for _, n := range c.Nodes {
			st := n.Status().AntiEntropy.Stats
			sent += st.BytesSent
			received += st.BytesReceived
		}
		for i := range diverged {
			if sets := c.replicaSets(benchKey(i * 100)); !memcluster.Converged(sets) {
				b.Fatalf("key %s did not converge", benchKey(i*100))
			}
		}
		b.ReportMetric(took.Seconds(), "s/round")
		b.ReportMetric(float64(res.KeysCompared), "keys-compared")
		b.ReportMetric(float64(res.RepairedHere+res.RepairedThere), "keys-repaired")
		b.ReportMetric(float64(sent+received), "bytes")
		b.Logf("%d keys, %d diverged: round took %v, compared %d keys, repaired %d, %d bytes sent + %d received",
			keys, diverged, took.Round(time.Millisecond), res.KeysCompared, res.RepairedHere+res.RepairedThere, sent, received)
		b.StartTimer()
	}
}

func benchKey(i int) string { return fmt.Sprintf("key-%08d", i) }

// loadAgreeing writes keys to the first node's storage and merges the
// same sets into the others, with a few writers per node.
func loadAgreeing(b testing.TB, c *testCluster, keys int) {
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	value := vclock.Value{Data: make([]byte, 100)}
	for w := range writers {
		wg.Go(func() {
			first := c.Nodes[c.IDs[0]]
			r := first.Ring()
			for i := w; i < keys; i += writers {
				key := []byte(benchKey(i))
				p := r.Partition(key)
				s, _, err := first.Storage().Update(b.Context(), p, key, vclock.Clock{}, c.IDs[0], value, false)
				for _, id := range c.IDs[1:] {
					if err == nil {
						_, _, err = c.Nodes[id].Storage().Merge(b.Context(), p, key, s, false)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
