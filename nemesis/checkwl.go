package nemesis

import (
	"fmt"
	"maps"
	"slices"
)

// checkSet: every element whose add was acknowledged is in the union of
// the final copies; every element seen was added by a put that may have
// happened.
func (c *checker) checkSet(ops []*Op) {
	added := map[string]map[string]*Op{} // key -> element -> its put
	var okAdds []*Op
	for _, op := range ops {
		v, ok := c.vals[op.Seq]
		if op.Kind != Put || !ok || v.Add == "" || !mayHaveHappened(op) {
			continue
		}
		if added[op.Key] == nil {
			added[op.Key] = map[string]*Op{}
		}
		added[op.Key][v.Add] = op
		if op.Outcome == OK {
			okAdds = append(okAdds, op)
		}
	}
	elemsOf := func(sibs []Sibling) map[string]bool {
		es := map[string]bool{}
		for _, s := range sibs {
			if v, err := c.parse(s.Value); err == nil && !s.Tombstone {
				for _, e := range v.Set {
					es[e] = true
				}
			}
		}
		return es
	}
	phantom := func(key, e string, seq []int64, nodes []string) {
		if added[key][e] != nil || c.phantoms[[2]string{key, "element " + e}] {
			return
		}
		c.phantoms[[2]string{key, "element " + e}] = true
		c.add(Anomaly{Kind: Phantom, Key: key, Ops: seq, Nodes: nodes,
			Detail: fmt.Sprintf("set element %s was added by no put that may have happened", e)})
	}
	for _, op := range ops {
		if op.Kind == Get && op.Outcome == OK {
			for _, e := range slices.Sorted(maps.Keys(elemsOf(op.Siblings))) {
				phantom(op.Key, e, []int64{op.Seq}, nil)
			}
		}
	}
	keys := map[string]bool{}
	for _, op := range ops {
		keys[op.Key] = true
	}
	union := map[string]map[string]bool{}
	for _, key := range c.finalKeys() {
		if !keys[key] {
			continue // another workload's key
		}
		union[key] = map[string]bool{}
		for _, cp := range c.h.Final.Keys[key] {
			for _, e := range slices.Sorted(maps.Keys(elemsOf(copySiblings(cp)))) {
				union[key][e] = true
				phantom(key, e, nil, []string{cp.Node})
			}
		}
	}
	for _, op := range okAdds {
		v := c.vals[op.Seq]
		u, ok := union[op.Key]
		switch {
		case !ok:
			c.add(Anomaly{Kind: MissingFinal, Key: op.Key, Ops: []int64{op.Seq},
				Detail: "the history has no final state for a key with an acknowledged write"})
		case !u[v.Add]:
			c.add(Anomaly{Kind: SetElementLost, Key: op.Key, Ops: []int64{op.Seq},
				Detail: fmt.Sprintf("element %s, whose add was acknowledged, is in no final copy", v.Add)})
		}
	}
}

func copySiblings(cp Copy) []Sibling {
	s := make([]Sibling, len(cp.Siblings))
	for i, cs := range cp.Siblings {
		s[i] = Sibling{Value: cs.Value, Tombstone: cs.Tombstone}
	}
	return s
}

// checkPutDelete: a value whose acknowledged delete covered it (the
// delete carried the put's answered context) is never live again, in a
// read sent after the delete completed or in the final state; an
// acknowledged put with no delete that may have happened is live on every
// replica.
func (c *checker) checkPutDelete(ops []*Op) {
	byKey := map[string][]*Op{}
	for _, op := range ops {
		byKey[op.Key] = append(byKey[op.Key], op)
	}
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		kops := byKey[key]
		for _, put := range kops {
			v, ok := c.vals[put.Seq]
			if put.Kind != Put || put.Outcome != OK || !ok {
				continue
			}
			var del *Op // the first acknowledged delete covering put
			mayDeleted := false
			for _, op := range kops {
				if op.Kind != Delete || !mayHaveHappened(op) {
					continue
				}
				mayDeleted = true
				if op.Outcome == OK && put.RespContext != "" && op.Context == put.RespContext &&
					(del == nil || op.Complete < del.Complete) {
					del = op
				}
			}
			if !mayDeleted {
				c.requireOnReplicas(put)
			}
			if del != nil {
				c.checkResurrection(key, v.ID, put, del, kops)
			}
		}
	}
}

func (c *checker) checkResurrection(key, id string, put, del *Op, kops []*Op) {
	for _, op := range kops {
		if op.Kind != Get || op.Outcome != OK || op.Invoke <= del.Complete || c.cfg.ReadsMayBeStale {
			continue
		}
		for _, s := range op.Siblings {
			if v, err := c.parse(s.Value); err == nil && !s.Tombstone && v.ID == id {
				c.add(Anomaly{Kind: Resurrected, Key: key, Ops: []int64{op.Seq, del.Seq, put.Seq},
					Detail: fmt.Sprintf("a read after the acknowledged delete returned deleted value %s", id)})
			}
		}
	}
	reps, ok := c.replicas(key)
	if !ok {
		c.add(Anomaly{Kind: MissingFinal, Key: key, Ops: []int64{del.Seq},
			Detail: "the history has no final state for a key with an acknowledged delete"})
		return
	}
	var nodes []string
	for _, cp := range reps {
		if _, live := c.liveIDs(cp)[id]; live {
			nodes = append(nodes, cp.Node)
		}
	}
	if len(nodes) > 0 {
		c.add(Anomaly{Kind: Resurrected, Key: key, Ops: []int64{del.Seq, put.Seq}, Nodes: nodes,
			Detail: fmt.Sprintf("deleted value %s is live in the final state", id)})
	}
}

// slotWrites is what one client wrote to its slot of one counter key.
type slotWrites struct {
	lastOK    int64 // highest count an acknowledged increment wrote
	lastOKSeq int64
	maxMay    int64 // highest count an increment that may have happened wrote
	ok, info  int64
}

// checkCounter: on every replica, each client's slot holds at least what
// its last acknowledged increment wrote (else a write was lost) and at
// most what any increment of it wrote (else one was applied twice).
func (c *checker) checkCounter(ops []*Op) {
	writes := map[string]map[int]*slotWrites{}
	for _, op := range ops {
		v, ok := c.vals[op.Seq]
		if op.Kind != Put || !ok || !mayHaveHappened(op) {
			continue
		}
		if writes[op.Key] == nil {
			writes[op.Key] = map[int]*slotWrites{}
		}
		w := writes[op.Key][op.Process]
		if w == nil {
			w = &slotWrites{}
			writes[op.Key][op.Process] = w
		}
		n := v.Slots[op.Process]
		w.maxMay = max(w.maxMay, n)
		if op.Outcome == Info {
			w.info++
			continue
		}
		w.ok++
		if n > w.lastOK {
			w.lastOK, w.lastOKSeq = n, op.Seq
		}
	}
	for _, key := range slices.Sorted(maps.Keys(writes)) {
		c.checkCounterKey(key, writes[key])
	}
}

func (c *checker) checkCounterKey(key string, writes map[int]*slotWrites) {
	total := CounterTotal{Key: key}
	for _, w := range writes {
		total.OK += w.ok
		total.Info += w.info
	}
	reps, ok := c.replicas(key)
	if !ok {
		if total.OK > 0 {
			c.add(Anomaly{Kind: MissingFinal, Key: key,
				Detail: "the history has no final state for a key with an acknowledged write"})
		}
		return
	}
	lost := map[int][]string{}
	high := map[int][]string{}
	for _, cp := range reps {
		slots := map[int]int64{}
		for _, v := range c.liveIDs(cp) {
			mergeSlots(slots, v.Slots)
		}
		for _, p := range slices.Sorted(maps.Keys(writes)) {
			if slots[p] < writes[p].lastOK {
				lost[p] = append(lost[p], cp.Node)
			}
		}
		for _, p := range slices.Sorted(maps.Keys(slots)) {
			if w := writes[p]; w == nil || slots[p] > w.maxMay {
				high[p] = append(high[p], cp.Node)
			}
		}
	}
	for _, p := range slices.Sorted(maps.Keys(lost)) {
		w := writes[p]
		c.add(Anomaly{Kind: Lost, Key: key, Ops: []int64{w.lastOKSeq}, Nodes: lost[p],
			Detail: fmt.Sprintf("client %d's slot is below the %d its acknowledged increment wrote", p, w.lastOK)})
	}
	for _, p := range slices.Sorted(maps.Keys(high)) {
		var most int64
		if w := writes[p]; w != nil {
			most = w.maxMay
		}
		c.add(Anomaly{Kind: DoubleApplied, Key: key, Nodes: high[p],
			Detail: fmt.Sprintf("client %d's slot is above the %d its increments ever wrote", p, most)})
	}
	all := map[int]int64{}
	for _, cp := range c.h.Final.Keys[key] {
		for _, v := range c.liveIDs(cp) {
			mergeSlots(all, v.Slots)
		}
	}
	total.Total = sumSlots(all)
	c.r.Counters = append(c.r.Counters, total)
}
