package ring

import (
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// scorer holds the rendezvous score of every (partition, member) pair:
// score[p*n+i] for partition p and member i. Higher is better.
type scorer struct {
	n     int
	score []float64
}

// newScorer computes weighted rendezvous scores w / -log2(u), with u uniform
// in (0,1) from xxhash(partition || ID): the probability that a member
// scores highest in a partition is then proportional to its weight
// (Schindelhauer and Schomaker's weighted HRW).
//
// The logarithm is computed in integer arithmetic on purpose: math.Log is
// assembly on amd64 and Go elsewhere, and the compiler may fuse
// floating-point operations on arm64, so a float logarithm could rank a
// near-tie differently on two nodes and they would disagree on the ring.
// The only float operation left, one division, is exactly rounded
// everywhere.
func newScorer(members []Member, q int) scorer {
	n := len(members)
	s := scorer{n: n, score: make([]float64, q*n)}
	for i, m := range members {
		buf := make([]byte, 4, 4+len(m.ID))
		buf = append(buf, m.ID...)
		w := m.weight()
		for p := range q {
			binary.BigEndian.PutUint32(buf, uint32(p))
			u := xxhash.Sum64(buf)>>11 | 1 // 53 bits, odd so never 0
			// -log2(u / 2^53) in 32.32 fixed point, > 0 since u < 2^53.
			l := 53<<32 - log2Fixed(u)
			s.score[p*n+i] = w / float64(l)
		}
	}
	return s
}

// log2Fixed returns log2(x) for x >= 1 in 32.32 fixed point, truncated, by
// the classic square-and-halve binary logarithm.
func log2Fixed(x uint64) uint64 {
	k := bits.Len64(x) - 1
	m := x << (63 - k) // mantissa in [1,2) as 1.63 fixed point
	res := uint64(k) << 32
	for bit := uint64(1) << 31; bit > 0; bit >>= 1 {
		hi, lo := bits.Mul64(m, m) // m² in 2.126 fixed point
		if hi>>63 == 1 {           // m² >= 2: halve it and emit a 1 bit
			m = hi
			res |= bit
		} else {
			m = hi<<1 | lo>>63
		}
	}
	return res
}

// better reports whether member a outranks member b in partition p. Ties
// go to the smaller index, that is the smaller ID, so the order is total
// and independent of the input order.
func (s scorer) better(p, a, b int) bool {
	sa, sb := s.score[p*s.n+a], s.score[p*s.n+b]
	if sa != sb {
		return sa > sb
	}
	return a < b
}

// ranking returns, for each partition, the member indexes in decreasing
// score order: the rendezvous order, which is also the fallback order.
func (s scorer) ranking(q int) [][]uint16 {
	flat := make([]uint16, q*s.n)
	out := make([][]uint16, q)
	for p := range q {
		order := flat[p*s.n : (p+1)*s.n : (p+1)*s.n]
		for i := range order {
			order[i] = uint16(i)
		}
		slices.SortFunc(order, func(a, b uint16) int {
			switch {
			case a == b:
				return 0
			case s.better(p, int(a), int(b)):
				return -1
			}
			return 1
		})
		out[p] = order
	}
	return out
}
