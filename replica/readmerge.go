package replica

import "github.com/chorusdb/chorus/vclock"

// ReadMerge reconciles the sets that replicas returned for one key and
// tells which replicas are behind, for read repair. It is pure and not safe
// for concurrent use.
type ReadMerge struct {
	merged  vclock.Set
	replies []readReply
}

type readReply struct {
	node string
	set  vclock.Set // empty when the replica did not have the key
}

// Add records the set node returned; an empty set means the replica had
// nothing for the key.
func (m *ReadMerge) Add(node string, s vclock.Set) {
	m.merged = vclock.Sync(m.merged, s)
	m.replies = append(m.replies, readReply{node: node, set: s})
}

// Result returns the merge of every set added so far: all siblings any
// replica holds that no other replica's clock has superseded.
func (m *ReadMerge) Result() vclock.Set { return m.merged }

// Stale returns the replicas, in reply order, whose set differs from the
// merged result; sending them the result repairs them. A replica that is
// merely missing superseded siblings is stale too, since its set differs.
func (m *ReadMerge) Stale() []string {
	var stale []string
	for _, r := range m.replies {
		if !r.set.Equal(m.merged) {
			stale = append(stale, r.node)
		}
	}
	return stale
}
