package ring

import "slices"

// Departures lists, per partition, the primaries of prev that are not
// members of next at all: nodes that left (or were removed) between the
// two rings, as opposed to primaries that only moved to other partitions.
// Until the new primaries have pulled a partition, a departed node that
// is still up is the one complete copy that left the primary set.
// Partitions without such a node are absent; a nil prev or next, or rings
// of different Partitions, have none.
func Departures(prev, next *Ring) map[uint32][]string {
	out := map[uint32][]string{}
	if prev == nil || next == nil || prev.Partitions() != next.Partitions() {
		return out
	}
	gone := map[string]bool{}
	for _, m := range prev.members {
		if !slices.ContainsFunc(next.members, func(n Member) bool { return n.ID == m.ID }) {
			gone[m.ID] = true
		}
	}
	if len(gone) == 0 {
		return out
	}
	for p := range uint32(prev.Partitions()) {
		for _, id := range prev.Primaries(p) {
			if gone[id] {
				out[p] = append(out[p], id)
			}
		}
	}
	return out
}
