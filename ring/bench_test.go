package ring

import (
	"fmt"
	"testing"
)

func BenchmarkPreferenceList(b *testing.B) {
	for _, n := range []int{8, 32, 128, 512} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			r := mustNew(b, nodes(n), DefaultConfig())
			keys := make([][]byte, 1024)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "user:%d", i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				_ = r.PreferenceList(keys[i%len(keys)], 3)
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for _, c := range []struct{ q, n int }{{256, 8}, {256, 64}, {256, 512}, {4096, 64}, {4096, 512}, {4096, 1024}} {
		b.Run(fmt.Sprintf("Q=%d/nodes=%d", c.q, c.n), func(b *testing.B) {
			members := nodes(c.n)
			cfg := Config{Partitions: c.q}
			b.ReportAllocs()
			for b.Loop() {
				mustNew(b, members, cfg)
			}
		})
	}
}

// BenchmarkNewHistory builds rings from a history of 3 bootstrap members
// and one join per epoch up to the node count, the replay New performs
// for a cluster grown one node at a time.
func BenchmarkNewHistory(b *testing.B) {
	for _, c := range []struct{ q, n int }{{256, 64}, {256, 256}, {4096, 64}} {
		b.Run(fmt.Sprintf("Q=%d/joins=%d", c.q, c.n-3), func(b *testing.B) {
			members := nodes(c.n)
			for i := 3; i < c.n; i++ {
				members[i].Joined = uint64(i - 2)
			}
			cfg := Config{Partitions: c.q}
			b.ReportAllocs()
			for b.Loop() {
				mustNew(b, members, cfg)
			}
		})
	}
}
