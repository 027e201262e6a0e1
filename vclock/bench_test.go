package vclock

import (
	"fmt"
	"testing"
)

// setWithSiblings returns a set with n concurrent siblings of 100 B values
// coordinated by three nodes, as a busy key on a 3-replica ring looks.
func setWithSiblings(n int) Set {
	nodes := []string{"node-1", "node-2", "node-3"}
	var s Set
	for i := range n {
		s = mustUpdate(s, Clock{}, nodes[i%3], Value{Data: make([]byte, 100), Timestamp: int64(i)})
	}
	return s
}

func BenchmarkUpdate(b *testing.B) {
	for _, n := range []int{1, 3, 10} {
		s := setWithSiblings(n)
		v := Value{Data: make([]byte, 100)}
		b.Run(fmt.Sprintf("siblings=%d/full-context", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = mustUpdate(s, s.Context(), "node-1", v)
			}
		})
		b.Run(fmt.Sprintf("siblings=%d/empty-context", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = mustUpdate(s, Clock{}, "node-1", v)
			}
		})
	}
}

func BenchmarkSync(b *testing.B) {
	for _, n := range []int{1, 3, 10} {
		s := setWithSiblings(n)
		newer := mustUpdate(s, Clock{}, "node-2", Value{Data: make([]byte, 100)})
		b.Run(fmt.Sprintf("siblings=%d/equal", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Sync(s, s)
			}
		})
		b.Run(fmt.Sprintf("siblings=%d/one-newer", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Sync(s, newer)
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, n := range []int{1, 3, 10} {
		s := setWithSiblings(n)
		buf := make([]byte, 0, 4096)
		b.Run(fmt.Sprintf("siblings=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(s.Encode())))
			for b.Loop() {
				buf = s.AppendEncode(buf[:0])
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{1, 3, 10} {
		enc := setWithSiblings(n).Encode()
		b.Run(fmt.Sprintf("siblings=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := Decode(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkContext(b *testing.B) {
	c := setWithSiblings(3).Context()
	s := c.String()
	b.Run("string", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.String()
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseContext(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
