package antientropy

import (
	"errors"
	"fmt"
)

// ErrShapeMismatch is wrapped when two trees, or hash levels, of different
// shapes are compared.
var ErrShapeMismatch = errors.New("antientropy: tree shapes differ")

// DiffBranches returns, in increasing order, the indexes where the branch
// hashes a and b differ; nil if none do. Slices of different lengths come
// from trees of different shapes and yield an error wrapping
// ErrShapeMismatch.
func DiffBranches(a, b []uint64) ([]int, error) {
	return diff("branches", a, b)
}

// DiffSegments is DiffBranches for the segment hashes of one branch; the
// indexes are relative to the branch.
func DiffSegments(a, b []uint64) ([]int, error) {
	return diff("segments", a, b)
}

func diff(level string, a, b []uint64) ([]int, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("%w: %d local %s, %d remote", ErrShapeMismatch, len(a), level, len(b))
	}
	var out []int
	for i := range a {
		if a[i] != b[i] {
			out = append(out, i)
		}
	}
	return out, nil
}

// Stats counts what Compare fetched from the remote side, so a caller can
// check, and export, that an exchange costs in proportion to the
// difference rather than to the data.
type Stats struct {
	// BranchHashes is the number of branch hashes received: zero if the
	// roots matched, else the tree's branch count.
	BranchHashes int
	// SegmentFetches is the number of remoteSegments calls, one per
	// differing branch.
	SegmentFetches int
	// SegmentHashes is the number of segment hashes received.
	SegmentHashes int
}

// Compare walks local against a remote tree top-down and returns, in
// increasing order, the segments whose hashes differ. It compares the
// roots; only if they differ does it call remoteBranches, and it calls
// remoteSegments only for branches whose hashes differ. Equal roots return
// nil segments and zero Stats: there is nothing to exchange. The callbacks
// are where a caller puts its network round trips; their errors are
// returned wrapped, and so is ErrShapeMismatch if a level has the wrong
// length.
func Compare(local *Tree, remoteRoot uint64,
	remoteBranches func() ([]uint64, error),
	remoteSegments func(branch int) ([]uint64, error),
) ([]int, Stats, error) {
	var st Stats
	if local.Root() == remoteRoot {
		return nil, st, nil
	}
	rb, err := remoteBranches()
	if err != nil {
		return nil, st, fmt.Errorf("antientropy: fetch branches: %w", err)
	}
	st.BranchHashes = len(rb)
	branches, err := DiffBranches(local.branches, rb)
	if err != nil {
		return nil, st, err
	}
	var segs []int
	for _, br := range branches {
		rs, err := remoteSegments(br)
		if err != nil {
			return nil, st, fmt.Errorf("antientropy: fetch segments of branch %d: %w", br, err)
		}
		st.SegmentFetches++
		st.SegmentHashes += len(rs)
		lo := br * local.width
		d, err := DiffSegments(local.segments[lo:lo+local.width], rs)
		if err != nil {
			return nil, st, fmt.Errorf("branch %d: %w", br, err)
		}
		for _, i := range d {
			segs = append(segs, lo+i)
		}
	}
	return segs, st, nil
}
