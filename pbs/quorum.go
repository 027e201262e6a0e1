package pbs

import (
	"fmt"
	"math"
)

// Quorum is a replication configuration: every key has N replicas, a read
// waits for R of them and a write for W of them.
type Quorum struct {
	N, R, W int
}

// String returns the quorum as "N=3 R=2 W=1".
func (q Quorum) String() string {
	return fmt.Sprintf("N=%d R=%d W=%d", q.N, q.R, q.W)
}

// Strict reports whether every read quorum meets every write quorum
// (R+W > N), so that every read sees the latest committed write.
func (q Quorum) Strict() bool { return q.R+q.W > q.N }

// Validate reports, wrapping ErrInvalid, a quorum that does not satisfy
// 1 <= R, W <= N.
func (q Quorum) Validate() error {
	if err := q.check(); err != nil {
		return fmt.Errorf("%w: quorum %v: %v", ErrInvalid, q, err)
	}
	return nil
}

// check is Validate without the prefix, for Config.Validate.
func (q Quorum) check() error {
	switch {
	case q.N < 1:
		return fmt.Errorf("N must be at least 1")
	case q.R < 1 || q.R > q.N:
		return fmt.Errorf("R must be in [1, N]")
	case q.W < 1 || q.W > q.N:
		return fmt.Errorf("W must be in [1, N]")
	}
	return nil
}

// ClosedForm returns the probability that a read quorum of R replicas,
// chosen uniformly among N, misses a write quorum of W: C(N-W, R) / C(N, R),
// which is 0 when R+W > N. This is the staleness of a read that starts the
// moment the write commits, before any replica outside the write quorum has
// the write. Under the WARS model it bounds 1 - Point.Consistent from above
// at every delta, for every leg distribution (see the package comment). It
// returns NaN for an invalid quorum.
func ClosedForm(q Quorum) float64 {
	if q.check() != nil {
		return math.NaN()
	}
	// C(N-W, R)/C(N, R) = prod_{i<R} (N-W-i)/(N-i); the factors reach zero
	// exactly when R > N-W, and the product never overflows.
	p := 1.0
	for i := range q.R {
		p *= float64(q.N-q.W-i) / float64(q.N-i)
		if p <= 0 {
			return 0
		}
	}
	return p
}

// ClosedFormK returns the probability that a read misses the write quorums
// of each of the k latest writes, when each write's quorum is independent
// and no write propagates beyond its quorum: ClosedForm(q)^k. Under the
// WARS model it bounds from above the probability that a read is k or more
// versions behind (the sum of Point.Behind[k:]), for every leg and gap
// distribution. ClosedFormK(q, 0) is 1; a negative k counts as 0. It
// returns NaN for an invalid quorum.
func ClosedFormK(q Quorum, k int) float64 {
	p := ClosedForm(q)
	if math.IsNaN(p) {
		return p
	}
	return math.Pow(p, float64(max(k, 0)))
}
