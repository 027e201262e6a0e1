package ring

import "slices"

// Move is one replica-partition assignment that changes between two rings:
// node To becomes a primary of Partition in place of node From. From is
// empty when the partition gains a primary without losing one (the old
// ring had fewer members than Replicas); To is empty when it loses one
// without a replacement.
type Move struct {
	Partition uint32
	From, To  string
}

// Moves lists the assignments that change from ring prev to ring next, in
// increasing partition order: for each partition, the primaries of prev
// that are not primaries of next are paired, in list order, with the
// primaries of next that were not primaries of prev. Applying the moves to
// prev's primary sets yields next's, and no move is listed for a partition
// whose primary set is unchanged (a change of order among the same
// primaries moves no data). A nil prev or next stands for an empty ring, so
// Moves(nil, r) lists r's initial placement. Moves returns nil when both
// rings are non-nil and differ in Partitions, since their partitions do not
// correspond.
func Moves(prev, next *Ring) []Move {
	q, ok := commonPartitions(prev, next)
	if !ok {
		return nil
	}
	var out []Move
	for p := range uint32(q) {
		from := prev.primariesOrNil(p)
		to := next.primariesOrNil(p)
		out = appendMoves(out, p, diff(from, to), diff(to, from))
	}
	return out
}

// commonPartitions returns the partition count two rings share, treating
// nil as a ring that matches any count.
func commonPartitions(a, b *Ring) (int, bool) {
	switch {
	case a == nil && b == nil:
		return 0, true
	case a == nil:
		return b.Partitions(), true
	case b == nil:
		return a.Partitions(), true
	}
	return a.Partitions(), a.Partitions() == b.Partitions()
}

// primariesOrNil is Primaries with a nil ring holding nothing.
func (r *Ring) primariesOrNil(p uint32) []string {
	if r == nil {
		return nil
	}
	return r.Primaries(p)
}

// diff returns the elements of a not in b, in a's order.
func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// appendMoves pairs lost and gained primaries of partition p.
func appendMoves(out []Move, p uint32, lost, gained []string) []Move {
	for i := range max(len(lost), len(gained)) {
		m := Move{Partition: p}
		if i < len(lost) {
			m.From = lost[i]
		}
		if i < len(gained) {
			m.To = gained[i]
		}
		out = append(out, m)
	}
	return out
}
