package nemesis

import (
	"fmt"
	"slices"
	"time"
)

// noFault is the availability row of operations sent while no fault was
// active.
const noFault = "none"

// active returns the kinds of the faults active at t and the nodes they
// affect.
func (c *checker) active(t int64) ([]FaultKind, map[string]bool) {
	var kinds []FaultKind
	nodes := map[string]bool{}
	for _, f := range c.h.Faults {
		if f.Start <= t && t < f.End {
			if !slices.Contains(kinds, f.Kind) {
				kinds = append(kinds, f.Kind)
			}
			for _, n := range f.Nodes {
				nodes[n] = true
			}
		}
	}
	return kinds, nodes
}

// availability fills the availability rows and write gaps: operations
// count by the faults active when they were sent, unless sent to a node
// one of those faults affected; an acknowledged write counts at the time
// it completed.
func (c *checker) availability() {
	rows := map[string]*Availability{}
	row := func(k string) *Availability {
		if rows[k] == nil {
			rows[k] = &Availability{Fault: k}
		}
		return rows[k]
	}
	var t0, tEnd int64 = -1, 0
	var writes []*Op
	for i := range c.h.Ops {
		op := &c.h.Ops[i]
		if t0 < 0 || op.Invoke < t0 {
			t0 = op.Invoke
		}
		tEnd = max(tEnd, op.Complete)
		if op.Kind != Get && op.Outcome == OK {
			writes = append(writes, op)
		}
		kinds, affected := c.active(op.Invoke)
		if affected[op.Node] {
			continue
		}
		names := []string{noFault}
		if len(kinds) > 0 {
			names = names[:0]
			for _, k := range kinds {
				names = append(names, string(k))
			}
		}
		for _, k := range names {
			a := row(k)
			a.Sent++
			if op.Outcome == OK {
				a.OK++
			}
		}
	}
	if t0 < 0 {
		return // no operations
	}
	c.writeGaps(writes, t0, tEnd, row)
	c.healConvergence(row)
	for _, k := range append([]string{noFault}, kindNames()...) {
		if a := rows[k]; a != nil {
			if a.Sent > 0 {
				a.Share = float64(a.OK) / float64(a.Sent)
			}
			if k != noFault {
				c.judgeGap("a "+k+" fault", a.LongestWriteGap)
			}
			c.r.Availability = append(c.r.Availability, *a)
		}
	}
}

// writeGaps finds the longest windows without an acknowledged write at a
// healthy node: over the run [t0, tEnd], and within each fault, into the
// fault kind's row.
func (c *checker) writeGaps(writes []*Op, t0, tEnd int64, row func(string) *Availability) {
	slices.SortFunc(writes, func(a, b *Op) int { return cmpInt(a.Complete, b.Complete) })
	var healthy []int64
	for _, w := range writes {
		if _, affected := c.active(w.Complete); !affected[w.Node] {
			healthy = append(healthy, w.Complete)
		}
	}
	c.r.LongestWriteGap = longestGap(healthy, t0, tEnd)
	c.judgeGap("the run", c.r.LongestWriteGap)
	for _, f := range c.h.Faults {
		end := min(f.End, tEnd)
		if end <= f.Start {
			continue // the fault came after the last operation
		}
		var pts []int64
		for _, w := range writes {
			if f.Start <= w.Complete && w.Complete < end && !slices.Contains(f.Nodes, w.Node) {
				pts = append(pts, w.Complete)
			}
		}
		a := row(string(f.Kind))
		if g := longestGap(pts, f.Start, end); g.Duration() > a.LongestWriteGap.Duration() {
			a.LongestWriteGap = g
		}
	}
}

func kindNames() []string {
	s := make([]string, len(FaultKinds))
	for i, k := range FaultKinds {
		s[i] = string(k)
	}
	return s
}

// longestGap returns the longest window in [start, end] between the
// sorted points.
func longestGap(pts []int64, start, end int64) Gap {
	best := Gap{StartNanos: start, EndNanos: start}
	prev := start
	for i := 0; i <= len(pts); i++ {
		p := end
		if i < len(pts) {
			p = pts[i]
		}
		if p-prev > best.EndNanos-best.StartNanos {
			best = Gap{StartNanos: prev, EndNanos: p}
		}
		prev = max(prev, p)
	}
	return best
}

func (c *checker) judgeGap(during string, g Gap) {
	if c.cfg.MaxWriteGap > 0 && g.Duration() > c.cfg.MaxWriteGap {
		c.add(Anomaly{Kind: WriteGap, Detail: fmt.Sprintf("during %s, no write was acknowledged at a healthy node for %v (%v .. %v), over the %v allowed",
			during, g.Duration(), time.Duration(g.StartNanos), time.Duration(g.EndNanos), c.cfg.MaxWriteGap)})
	}
}

// healConvergence folds the probes after each heal into the fault
// kinds' rows and judges each against MaxConverge.
func (c *checker) healConvergence(row func(string) *Availability) {
	for _, f := range c.h.Faults {
		p := f.Converge
		if p == nil {
			continue
		}
		a := row(string(f.Kind))
		a.Probed++
		a.LongestConverge = max(a.LongestConverge, p.Nanos)
		d := time.Duration(p.Nanos)
		what := fmt.Sprintf("after the %s fault healed at %v, the %d keys written around it", f.Kind, time.Duration(f.End), p.Keys)
		switch {
		case !p.Converged:
			a.NotConverged++
			if c.cfg.MaxConverge > 0 {
				c.add(Anomaly{Kind: SlowConvergence, Detail: fmt.Sprintf("%s had not converged %v later", what, d)})
			}
		case c.cfg.MaxConverge > 0 && d > c.cfg.MaxConverge:
			c.add(Anomaly{Kind: SlowConvergence, Detail: fmt.Sprintf("%s took %v to converge, over the %v allowed", what, d, c.cfg.MaxConverge)})
		}
	}
}

// convergence reports the measured convergence and judges it. When the
// heals were probed (a run of cycles), each probe was judged instead:
// the final read of every key then only needs to find the replicas
// agreeing, since one pass over a long run's keys alone can outlast
// MaxConverge.
func (c *checker) convergence() {
	f := c.h.Final
	c.r.Converge = Convergence{Nanos: f.ConvergeNanos, Converged: f.Converged}
	if c.cfg.MaxConverge <= 0 {
		return
	}
	if slices.ContainsFunc(c.h.Faults, func(f Fault) bool { return f.Converge != nil }) {
		if !f.Converged {
			c.add(Anomaly{Kind: SlowConvergence, Detail: fmt.Sprintf("the replicas had not converged %v after the last heal", time.Duration(f.ConvergeNanos))})
		}
		return
	}
	switch d := time.Duration(f.ConvergeNanos); {
	case !f.Converged:
		c.add(Anomaly{Kind: SlowConvergence, Detail: fmt.Sprintf("the replicas had not converged %v after the heal", d)})
	case d > c.cfg.MaxConverge:
		c.add(Anomaly{Kind: SlowConvergence, Detail: fmt.Sprintf("the replicas took %v to converge, over the %v allowed", d, c.cfg.MaxConverge)})
	}
}
