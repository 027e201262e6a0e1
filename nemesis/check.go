package nemesis

import (
	"fmt"
	"slices"
	"time"
)

// Config tunes the checker.
type Config struct {
	// MaxExamples bounds the anomalies listed per kind; all are counted.
	// Default 20.
	MaxExamples int
	// MaxWriteGap, when above zero, makes a window longer than it with
	// no acknowledged write at a healthy node (overall, or during a
	// fault) a WriteGap anomaly. Default 0: reported, not judged.
	MaxWriteGap time.Duration
	// MaxConverge, when above zero, makes a convergence slower than it
	// (or none) a SlowConvergence anomaly. Default 0: reported, not
	// judged.
	MaxConverge time.Duration
	// ReadsMayBeStale, when true, stops judging reads sent after an
	// acknowledged delete: only the final state can show a resurrection.
	// Set it for runs where a correct store may answer a read from
	// replicas the delete did not reach: R+W <= N. Default false: such a
	// read is a resurrection, right for R+W > N with strict quorums.
	ReadsMayBeStale bool
}

// DefaultConfig returns the defaults above.
func DefaultConfig() Config { return Config{MaxExamples: 20} }

// Validate reports a config the checker cannot use.
func (c Config) Validate() error {
	if c.MaxExamples < 1 {
		return fmt.Errorf("nemesis: max examples %d, want at least 1", c.MaxExamples)
	}
	if c.MaxWriteGap < 0 || c.MaxConverge < 0 {
		return fmt.Errorf("nemesis: negative threshold (write gap %v, converge %v)", c.MaxWriteGap, c.MaxConverge)
	}
	return nil
}

// checker holds one Check's state.
type checker struct {
	h      *History
	cfg    Config
	r      *Report
	groups map[AnomalyKind]*AnomalyGroup
	// writes indexes every put by the id of the value it wrote.
	writes map[string]*Op
	// vals caches the parsed value of every put, by Seq.
	vals map[int64]value
	// parsed caches parseValue by the raw value: a set's values grow
	// with the run and are seen in many reads and copies.
	parsed map[string]parsedValue
	// phantoms already reported, by key and value, to report each once.
	phantoms map[[2]string]bool
}

// Check checks history h and returns the report. It never modifies h.
// It fails only on a bad config or an op of an unknown workload.
func Check(h *History, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &checker{h: h, cfg: cfg, r: &Report{}, groups: map[AnomalyKind]*AnomalyGroup{},
		writes: map[string]*Op{}, vals: map[int64]value{}, phantoms: map[[2]string]bool{}, parsed: map[string]parsedValue{}}
	byWorkload := map[string][]*Op{}
	for i := range h.Ops {
		op := &h.Ops[i]
		if !slices.Contains(Workloads, op.Workload) {
			return nil, fmt.Errorf("nemesis: op %d: unknown workload %q", op.Seq, op.Workload)
		}
		byWorkload[op.Workload] = append(byWorkload[op.Workload], op)
		c.count(op)
		if op.Kind != Put {
			continue
		}
		if v, err := c.parse(op.Value); err == nil {
			c.vals[op.Seq] = v
			if _, dup := c.writes[v.ID]; !dup {
				c.writes[v.ID] = op
			}
		}
	}
	c.checkReads()
	c.checkFinalValues()
	c.checkDisagree()
	c.checkWriteOnce(byWorkload[WriteOnce])
	c.checkSet(byWorkload[GrowSet])
	c.checkPutDelete(byWorkload[PutDelete])
	c.checkCounter(byWorkload[Counter])
	c.availability()
	c.convergence()
	for _, g := range c.groups {
		c.r.Anomalies = append(c.r.Anomalies, *g)
	}
	sortGroups(c.r.Anomalies)
	return c.r, nil
}

func (c *checker) count(op *Op) {
	c.r.Ops.Total++
	switch op.Outcome {
	case OK:
		c.r.Ops.OK++
	case Fail:
		c.r.Ops.Fail++
	case Info:
		c.r.Ops.Info++
	}
}

func (c *checker) add(a Anomaly) {
	g := c.groups[a.Kind]
	if g == nil {
		g = &AnomalyGroup{Kind: a.Kind, Examples: []Anomaly{}}
		c.groups[a.Kind] = g
	}
	g.Count++
	if len(g.Examples) < c.cfg.MaxExamples {
		g.Examples = append(g.Examples, a)
	}
}

// mayHaveHappened reports whether op may have taken effect.
func mayHaveHappened(op *Op) bool { return op.Outcome == OK || op.Outcome == Info }

// observe checks one live value seen for key, in a read (then read is
// set) or in a node's final copy, and returns it parsed (ok false for a
// phantom).
func (c *checker) observe(key string, b []byte, read *Op, node string) (value, bool) {
	v, err := c.parse(b)
	var w *Op
	detail := ""
	switch {
	case err != nil:
		detail = fmt.Sprintf("value %q is no workload's (%v)", clip(b), err)
	case c.writes[v.ID] == nil:
		detail = fmt.Sprintf("value %s was written by no operation", v.ID)
	default:
		w = c.writes[v.ID]
		switch {
		case w.Key != key:
			detail = fmt.Sprintf("value %s was written to key %q", v.ID, w.Key)
		case w.Outcome == Fail:
			detail = fmt.Sprintf("value %s was written by a failed put", v.ID)
		case read != nil && w.Invoke > read.Complete:
			detail = fmt.Sprintf("value %s was read before its put was sent", v.ID)
		default:
			return v, true
		}
	}
	pk := [2]string{key, string(b)}
	if !c.phantoms[pk] {
		c.phantoms[pk] = true
		a := Anomaly{Kind: Phantom, Key: key, Detail: detail}
		if read != nil {
			a.Ops = append(a.Ops, read.Seq)
		}
		if w != nil {
			a.Ops = append(a.Ops, w.Seq)
		}
		if node != "" {
			a.Nodes = []string{node}
		}
		c.add(a)
	}
	return v, false
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// checkReads looks at every OK read: phantoms, one write twice among the
// siblings, and the sibling-count distribution.
func (c *checker) checkReads() {
	counts := map[string]map[int]int{}
	for i := range c.h.Ops {
		op := &c.h.Ops[i]
		if op.Kind != Get || op.Outcome != OK {
			continue
		}
		live := 0
		seen := map[string]bool{}
		for _, s := range op.Siblings {
			if s.Tombstone {
				continue
			}
			live++
			v, ok := c.observe(op.Key, s.Value, op, "")
			if !ok {
				continue
			}
			if seen[v.ID] {
				c.add(Anomaly{Kind: DoubleApplied, Key: op.Key, Ops: []int64{op.Seq, c.writes[v.ID].Seq},
					Detail: fmt.Sprintf("a read returned value %s as two siblings", v.ID)})
			}
			seen[v.ID] = true
		}
		if counts[op.Workload] == nil {
			counts[op.Workload] = map[int]int{}
		}
		counts[op.Workload][live]++
	}
	for _, w := range Workloads {
		for n, reads := range counts[w] {
			c.r.SiblingCounts = append(c.r.SiblingCounts, SiblingCount{Workload: w, Siblings: n, Reads: reads})
		}
	}
	slices.SortFunc(c.r.SiblingCounts, func(a, b SiblingCount) int {
		if a.Workload != b.Workload {
			return slices.Index(Workloads, a.Workload) - slices.Index(Workloads, b.Workload)
		}
		return a.Siblings - b.Siblings
	})
}

// checkFinalValues looks at every sibling of every final copy: phantoms,
// and one write stored under two dots.
func (c *checker) checkFinalValues() {
	for _, key := range c.finalKeys() {
		for _, cp := range c.h.Final.Keys[key] {
			dots := map[string]string{}
			for _, s := range cp.Siblings {
				if s.Tombstone {
					continue
				}
				v, ok := c.observe(key, s.Value, nil, cp.Node)
				if !ok {
					continue
				}
				if d, dup := dots[v.ID]; dup && d != s.Dot {
					c.add(Anomaly{Kind: DoubleApplied, Key: key, Ops: []int64{c.writes[v.ID].Seq}, Nodes: []string{cp.Node},
						Detail: fmt.Sprintf("value %s is stored under two dots, %s and %s", v.ID, d, s.Dot)})
				}
				dots[v.ID] = s.Dot
			}
		}
	}
}

func (c *checker) finalKeys() []string {
	keys := make([]string, 0, len(c.h.Final.Keys))
	for k := range c.h.Final.Keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// replicas returns the copies of key that checks demand agreement of: the
// primaries', or every copy if none is marked a primary. ok is false when
// the final state has no entry for key.
func (c *checker) replicas(key string) ([]Copy, bool) {
	copies, ok := c.h.Final.Keys[key]
	if !ok {
		return nil, false
	}
	return primaries(copies), true
}

// checkDisagree compares every key's replicas.
func (c *checker) checkDisagree() {
	for _, key := range c.finalKeys() {
		reps, _ := c.replicas(key)
		if len(reps) < 2 {
			continue
		}
		if Agree(reps) {
			continue
		}
		a := Anomaly{Kind: ReplicasDisagree, Key: key, Detail: "final copies differ:"}
		for _, cp := range reps {
			a.Nodes = append(a.Nodes, cp.Node)
			d := cp.Digest
			if !cp.Found {
				d = "not found"
			}
			a.Detail += fmt.Sprintf(" %s=%s", cp.Node, d)
		}
		c.add(a)
	}
}

// liveIDs returns the ids of a copy's live siblings.
func (c *checker) liveIDs(cp Copy) map[string]value {
	ids := map[string]value{}
	for _, s := range cp.Siblings {
		if s.Tombstone {
			continue
		}
		if v, err := c.parse(s.Value); err == nil {
			ids[v.ID] = v
		}
	}
	return ids
}

// requireOnReplicas reports put as lost on every replica whose final
// copy lacks its value live.
func (c *checker) requireOnReplicas(put *Op) {
	v, ok := c.vals[put.Seq]
	if !ok {
		return
	}
	reps, ok := c.replicas(put.Key)
	if !ok {
		c.add(Anomaly{Kind: MissingFinal, Key: put.Key, Ops: []int64{put.Seq},
			Detail: "the history has no final state for a key with an acknowledged write"})
		return
	}
	var missing []string
	for _, cp := range reps {
		if _, live := c.liveIDs(cp)[v.ID]; !live {
			missing = append(missing, cp.Node)
		}
	}
	if len(missing) > 0 {
		c.add(Anomaly{Kind: Lost, Key: put.Key, Ops: []int64{put.Seq}, Nodes: missing,
			Detail: fmt.Sprintf("acknowledged value %s is missing from %d of %d replicas", v.ID, len(missing), len(reps))})
	}
}

// checkWriteOnce: every acknowledged put is live on every replica.
func (c *checker) checkWriteOnce(ops []*Op) {
	for _, op := range ops {
		if op.Kind == Put && op.Outcome == OK {
			c.requireOnReplicas(op)
		}
	}
}

type parsedValue struct {
	v   value
	err error
}

func (c *checker) parse(b []byte) (value, error) {
	if p, ok := c.parsed[string(b)]; ok {
		return p.v, p.err
	}
	v, err := parseValue(b)
	c.parsed[string(b)] = parsedValue{v, err}
	return v, err
}
