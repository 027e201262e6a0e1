package transport

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chorusdb/chorus/transport/pb"
)

// ackAll is a trivial InternodeServer that acknowledges every item.
type ackAll struct {
	pb.UnimplementedInternodeServer
}

func (ackAll) Replicate(_ context.Context, b *pb.ReplicateBatch) (*pb.ReplicateAcks, error) {
	return &pb.ReplicateAcks{Errors: make([]string, len(b.Items))}, nil
}

// BenchmarkReplicateLoopback measures Replicate calls to one peer over
// loopback gRPC, with a 100-byte value, from one caller (latency) and
// from 64 (a busy node: batches form), with the batches on the peer's
// stream and as unary RPCs.
func BenchmarkReplicateLoopback(b *testing.B) {
	for _, callers := range []int{1, 64} {
		for _, unary := range []bool{false, true} {
			mode := "stream"
			if unary {
				mode = "unary"
			}
			b.Run(fmt.Sprintf("callers=%d/%s", callers, mode), func(b *testing.B) {
				benchReplicate(b, callers, PeersConfig{Unary: unary})
			})
		}
	}
}

func benchReplicate(b *testing.B, callers int, cfg PeersConfig) {
	_, addr := startServer(b, nil, ackAll{}, ServerConfig{})
	p := newTestPeers(b, map[string]string{"b": addr}, cfg)
	set := testSet("self", string(make([]byte, 100)))
	ctx := context.Background()
	var seq, left atomic.Int64
	left.Store(int64(b.N))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, writes0, costOK := processCost()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			key := make([]byte, 0, 32)
			for left.Add(-1) >= 0 {
				key = strconv.AppendInt(append(key[:0], "key-"...), seq.Add(1), 10)
				if err := p.Replicate(ctx, "b", 0, key, set, false, ""); err != nil {
					b.Errorf("Replicate: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if cpu1, writes1, ok := processCost(); ok && costOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(writes1-writes0)/float64(b.N), "writes/op")
	}
	st := p.Stats().Total
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	if st.ReplicateBatches > 0 {
		b.ReportMetric(float64(st.ReplicateItems)/float64(st.ReplicateBatches), "items/batch")
	}
}
