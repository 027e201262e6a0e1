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
// from 64 (a busy node: batches form).
func BenchmarkReplicateLoopback(b *testing.B) {
	for _, callers := range []int{1, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			benchReplicate(b, callers, PeersConfig{})
		})
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
	st := p.Stats().Total
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	if st.ReplicateBatches > 0 {
		b.ReportMetric(float64(st.ReplicateItems)/float64(st.ReplicateBatches), "items/batch")
	}
}
