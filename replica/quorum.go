package replica

import (
	"fmt"
	"strings"
)

// Outcome is a tally's verdict.
type Outcome int

const (
	// Pending means more replies are needed to decide.
	Pending Outcome = iota
	// Met means the quorum was reached.
	Met
	// Failed means the outstanding replies can no longer reach the quorum.
	Failed
)

// String returns the lowercase name of the outcome.
func (o Outcome) String() string {
	switch o {
	case Pending:
		return "pending"
	case Met:
		return "met"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// Tally counts the replies to one request against a quorum: need replies in
// all, needPrimary of them from primaries. It is pure and not safe for
// concurrent use; the coordinator feeds it from one goroutine.
type Tally struct {
	need, needPrimary int
	// outstanding replies, split by kind, to tell when the quorum became
	// unreachable.
	pendingPrimary, pendingFallback int

	ok, okPrimary int
	failed        int
	errs          []error
}

// NewTally starts a tally for a request sent to primaries primary replicas
// and fallbacks fallback replicas, needing need successful replies of which
// needPrimary from primaries.
func NewTally(need, needPrimary, primaries, fallbacks int) *Tally {
	return &Tally{need: need, needPrimary: needPrimary, pendingPrimary: primaries, pendingFallback: fallbacks}
}

// AddReplica accounts for one more request sent after the start, as when
// a fallback replaces a primary that did not answer. Call it before
// recording the primary's failure, or the tally may decide Failed first.
func (t *Tally) AddReplica(primary bool) {
	if primary {
		t.pendingPrimary++
	} else {
		t.pendingFallback++
	}
}

// Succeed records a successful reply.
func (t *Tally) Succeed(primary bool) Outcome {
	t.take(primary)
	t.ok++
	if primary {
		t.okPrimary++
	}
	return t.Outcome()
}

// Fail records a failed reply and its error.
func (t *Tally) Fail(primary bool, err error) Outcome {
	t.take(primary)
	t.failed++
	if err != nil {
		t.errs = append(t.errs, err)
	}
	return t.Outcome()
}

func (t *Tally) take(primary bool) {
	if primary {
		t.pendingPrimary = max(0, t.pendingPrimary-1)
	} else {
		t.pendingFallback = max(0, t.pendingFallback-1)
	}
}

// Outcome returns the verdict so far.
func (t *Tally) Outcome() Outcome {
	if t.ok >= t.need && t.okPrimary >= t.needPrimary {
		return Met
	}
	if t.ok+t.pendingPrimary+t.pendingFallback < t.need || t.okPrimary+t.pendingPrimary < t.needPrimary {
		return Failed
	}
	return Pending
}

// Succeeded returns how many replies succeeded, and how many of those came
// from primaries.
func (t *Tally) Succeeded() (all, primaries int) { return t.ok, t.okPrimary }

// Err returns the QuorumError describing a quorum that was not met, for op.
func (t *Tally) Err(op string) *QuorumError {
	return &QuorumError{Op: op, Need: t.need, NeedPrimary: t.needPrimary,
		Got: t.ok, GotPrimary: t.okPrimary, Errs: t.errs}
}

// QuorumError reports a request that did not reach its quorum.
type QuorumError struct {
	Op          string // "put", "delete" or "read"
	Need        int
	NeedPrimary int
	Got         int
	GotPrimary  int
	// Errs are the replica errors seen, for errors.Is and errors.As (a
	// deadline shows up as context.DeadlineExceeded).
	Errs []error
	// Silent lists, sorted, the replicas that had not answered when the
	// request's deadline passed.
	Silent []string
}

func (e *QuorumError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replica: %s quorum not met: %d of %d replicas answered", e.Op, e.Got, e.Need)
	if e.NeedPrimary > 0 {
		fmt.Fprintf(&b, ", %d of %d required primaries", e.GotPrimary, e.NeedPrimary)
	}
	if len(e.Silent) > 0 {
		fmt.Fprintf(&b, "; no answer from %s", strings.Join(e.Silent, ", "))
	}
	if len(e.Errs) > 0 {
		fmt.Fprintf(&b, " (first error: %v)", e.Errs[0])
	}
	return b.String()
}

// Unwrap returns the replica errors, so errors.Is sees through a QuorumError.
func (e *QuorumError) Unwrap() []error { return e.Errs }
