package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/chorusdb/chorus/server/localcluster"
	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
)

// startBenchCluster starts a 3-node loopback cluster on disk for a
// benchmark, with a gRPC KV client per node; b's cleanup stops both.
func startBenchCluster(b *testing.B) (*localcluster.Cluster, []pb.KVClient) {
	b.Helper()
	lc, err := localcluster.Start(context.Background(), localcluster.Config{Nodes: 3, Dir: b.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lc.Close() })
	pool, err := transport.NewPool(transport.DefaultPoolConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pool.Close() })
	var clients []pb.KVClient
	for _, n := range lc.Nodes {
		c, err := pool.KV(n.Addrs().GRPC)
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, c)
	}
	return lc, clients
}

// BenchmarkLocalClusterPut measures puts through the gRPC API of a 3-node
// loopback cluster in this process (N=3, W=2, 100 B values), spreading
// the keys over the nodes, and reports the process's CPU time per put
// (the three nodes and the clients). go test -run xxx -bench
// LocalClusterPut -benchmem ./server/
func BenchmarkLocalClusterPut(b *testing.B) {
	for _, durable := range []bool{true, false} {
		b.Run(fmt.Sprintf("durable=%v", durable), func(b *testing.B) {
			ctx := context.Background()
			lc, clients := startBenchCluster(b)
			value := make([]byte, 100)
			var seq atomic.Uint64
			b.SetParallelism(32)
			b.ResetTimer()
			cpu0, cpuOK := processCPU()
			b.RunParallel(func(pb_ *testing.PB) {
				for pb_.Next() {
					i := seq.Add(1)
					req := &pb.PutRequest{Key: fmt.Appendf(nil, "key-%d", i), Value: value,
						Quorum: &pb.Quorum{NotDurable: !durable}}
					if _, err := clients[i%3].Put(ctx, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			if cpu1, ok := processCPU(); ok && cpuOK {
				// The whole cluster's CPU, client included, as a
				// deployment's three nodes and its clients together.
				b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			}
			var writes, syncs, batches uint64
			for _, n := range lc.Nodes {
				st := n.Storage().Stats()
				writes, syncs, batches = writes+st.Writes, syncs+st.Syncs, batches+st.Batches
			}
			b.ReportMetric(float64(writes)/float64(max(batches, 1)), "writes/batch")
			b.ReportMetric(float64(syncs)/b.Elapsed().Seconds(), "syncs/s")
			ps := lc.Nodes[0].PeerStats().Total
			b.ReportMetric(float64(ps.ReplicateItems)/float64(max(ps.ReplicateBatches, 1)), "items/rpc")
		})
	}
}

// BenchmarkLocalClusterGet measures reads (N=3, R=2) of 1 KiB values
// through the gRPC API of a 3-node loopback cluster, with digest reads
// and with every replica sending its set (read_repair=all), spreading
// the keys and the coordinators over the nodes, and reports the process's
// CPU time per get (the three nodes and the clients).
// go test -run xxx -bench LocalClusterGet -benchmem ./server/
func BenchmarkLocalClusterGet(b *testing.B) {
	ctx := context.Background()
	lc, clients := startBenchCluster(b)
	const keys = 1000
	value := make([]byte, 1024)
	for i := range keys {
		req := &pb.PutRequest{Key: fmt.Appendf(nil, "key-%d", i), Value: value, Quorum: &pb.Quorum{W: 3, NotDurable: true}}
		if _, err := clients[i%3].Put(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []string{"digest", "all"} {
		b.Run("read_repair="+mode, func(b *testing.B) {
			before := lc.Nodes[0].PeerStats().Total
			sent0 := fetchItems(lc)
			var seq atomic.Uint64
			b.SetParallelism(16)
			b.ResetTimer()
			cpu0, cpuOK := processCPU()
			b.RunParallel(func(pb_ *testing.PB) {
				for pb_.Next() {
					i := seq.Add(1)
					req := &pb.GetRequest{Key: fmt.Appendf(nil, "key-%d", i%keys), Quorum: &pb.Quorum{ReadRepair: mode}}
					if _, err := clients[i%3].Get(ctx, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			}
			ps := lc.Nodes[0].PeerStats().Total
			items := ps.FetchItems - before.FetchItems
			b.ReportMetric(float64(ps.DigestItems-before.DigestItems)/float64(max(items, 1)), "digests/item")
			b.ReportMetric(float64(fetchItems(lc)-sent0)/float64(b.N), "fetches/op")
		})
	}
}

// fetchItems sums the internode reads (sets and digests) the cluster's
// nodes have sent.
func fetchItems(lc *localcluster.Cluster) uint64 {
	var n uint64
	for _, node := range lc.Nodes {
		n += node.PeerStats().Total.FetchItems
	}
	return n
}
