package transport

import (
	"context"
	"strconv"
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

// BenchmarkReplicateLoopback measures Replicate calls from many parallel
// callers to one peer over loopback gRPC, with a 100-byte value.
func BenchmarkReplicateLoopback(b *testing.B) {
	_, addr := startServer(b, nil, ackAll{}, ServerConfig{})
	p := newTestPeers(b, map[string]string{"b": addr}, PeersConfig{})
	set := testSet("self", string(make([]byte, 100)))
	ctx := context.Background()
	var seq atomic.Uint64
	b.SetParallelism(32) // many client requests in flight, as on a busy node
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := make([]byte, 0, 32)
		for pb.Next() {
			key = strconv.AppendUint(append(key[:0], "key-"...), seq.Add(1), 10)
			if err := p.Replicate(ctx, "b", 0, key, set, false, ""); err != nil {
				b.Errorf("Replicate: %v", err)
				return
			}
		}
	})
	b.StopTimer()
	st := p.Stats().Total
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	if st.ReplicateBatches > 0 {
		b.ReportMetric(float64(st.ReplicateItems)/float64(st.ReplicateBatches), "items/batch")
	}
}
