package nemesis

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// AnomalyKind names a kind of anomaly the checker finds.
type AnomalyKind string

// The anomaly kinds, in the report's order.
const (
	// Lost: an acknowledged write is missing from a replica's final
	// copy (or, for a counter, a slot holds less than an acknowledged
	// increment wrote).
	Lost AnomalyKind = "lost"
	// SetElementLost: an element whose add was acknowledged is in no
	// final copy of its set.
	SetElementLost AnomalyKind = "set-element-lost"
	// Phantom: a value or set element that no write which may have
	// happened (ok or info) carried, or a read that saw a value before
	// its write was sent.
	Phantom AnomalyKind = "phantom"
	// Resurrected: a value deleted by an acknowledged delete whose
	// context covered it is live in a later read or in the final state.
	Resurrected AnomalyKind = "resurrected"
	// DoubleApplied: one write's value under two dots (or twice in one
	// read), or a counter slot above anything its client wrote.
	DoubleApplied AnomalyKind = "double-applied"
	// ReplicasDisagree: a key's primaries hold different final copies.
	ReplicasDisagree AnomalyKind = "replicas-disagree"
	// MissingFinal: a key with an acknowledged write has no final state
	// in the history, so its checks could not run.
	MissingFinal AnomalyKind = "missing-final"
	// WriteGap: a window without an acknowledged write at a healthy node
	// longer than Config.MaxWriteGap (only when that is set).
	WriteGap AnomalyKind = "write-gap"
	// SlowConvergence: the replicas did not agree within
	// Config.MaxConverge of the heal (only when that is set).
	SlowConvergence AnomalyKind = "slow-convergence"
)

// AnomalyKinds lists every anomaly kind in the report's order.
var AnomalyKinds = []AnomalyKind{Lost, SetElementLost, Phantom, Resurrected, DoubleApplied,
	ReplicasDisagree, MissingFinal, WriteGap, SlowConvergence}

// Anomaly is one finding, with what it involves.
type Anomaly struct {
	Kind AnomalyKind `json:"kind"`
	Key  string      `json:"key,omitempty"`
	// Ops are the Seq of the operations involved.
	Ops []int64 `json:"ops,omitempty"`
	// Nodes are the nodes whose copies show it.
	Nodes  []string `json:"nodes,omitempty"`
	Detail string   `json:"detail"`
}

// AnomalyGroup holds the anomalies of one kind: the count of all, and
// the first Config.MaxExamples of them.
type AnomalyGroup struct {
	Kind     AnomalyKind `json:"kind"`
	Count    int         `json:"count"`
	Examples []Anomaly   `json:"examples"`
}

// OpCounts counts operations by outcome.
type OpCounts struct {
	Total int `json:"total"`
	OK    int `json:"ok"`
	Fail  int `json:"fail"`
	Info  int `json:"info"`
}

// SiblingCount is how many OK reads of a workload returned that many
// live siblings (0: not found).
type SiblingCount struct {
	Workload string `json:"workload"`
	Siblings int    `json:"siblings"`
	Reads    int    `json:"reads"`
}

// CounterTotal is a counter key's final total (per-slot maxima over every
// final copy, summed) beside the increments that could make it: it
// should lie in [OK, OK+Info].
type CounterTotal struct {
	Key   string `json:"key"`
	Total int64  `json:"total"`
	OK    int64  `json:"ok"`
	Info  int64  `json:"info"`
}

// Gap is a window with no acknowledged write at a healthy node.
type Gap struct {
	StartNanos int64 `json:"start_ns"`
	EndNanos   int64 `json:"end_ns"`
}

// Duration is the gap's length.
func (g Gap) Duration() time.Duration { return time.Duration(g.EndNanos - g.StartNanos) }

// Availability is the service seen during one kind of fault ("none": no
// fault active). Only operations sent to nodes that no active fault
// affected count.
type Availability struct {
	Fault string `json:"fault"`
	Sent  int    `json:"sent"`
	OK    int    `json:"ok"`
	// Share is OK/Sent, 0 when nothing was sent.
	Share float64 `json:"share"`
	// LongestWriteGap is the longest window, within a fault of this kind
	// (from its start to its end), with no acknowledged write completing
	// at a node it did not affect.
	LongestWriteGap Gap `json:"longest_write_gap"`
	// Probed counts the faults of this kind whose convergence after the
	// heal was measured; LongestConverge is the slowest of them, and
	// NotConverged counts those that had not converged when the probe
	// gave up.
	Probed          int   `json:"probed,omitempty"`
	LongestConverge int64 `json:"longest_converge_ns,omitempty"`
	NotConverged    int   `json:"not_converged,omitempty"`
}

// Convergence is the measured time for the replicas to agree after the
// heal, as the runner measured it.
type Convergence struct {
	Nanos     int64 `json:"ns"`
	Converged bool  `json:"converged"`
}

// Report is the checker's verdict on a history. Its JSON field names are
// stable.
type Report struct {
	Ops OpCounts `json:"ops"`
	// Anomalies has one group per kind found, in AnomalyKinds order.
	Anomalies     []AnomalyGroup `json:"anomalies"`
	SiblingCounts []SiblingCount `json:"sibling_counts"`
	Counters      []CounterTotal `json:"counters"`
	Availability  []Availability `json:"availability"`
	// LongestWriteGap is the longest window over the whole run with no
	// acknowledged write at a node no active fault affected.
	LongestWriteGap Gap         `json:"longest_write_gap"`
	Converge        Convergence `json:"converge"`
}

// Failed reports whether the checker found any anomaly.
func (r *Report) Failed() bool {
	for _, g := range r.Anomalies {
		if g.Count > 0 {
			return true
		}
	}
	return false
}

// Count returns how many anomalies of kind k the report holds.
func (r *Report) Count(k AnomalyKind) int {
	for _, g := range r.Anomalies {
		if g.Kind == k {
			return g.Count
		}
	}
	return 0
}

// EncodeJSON writes the report as indented JSON.
func (r *Report) EncodeJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	if err := e.Encode(r); err != nil {
		return fmt.Errorf("nemesis: write report: %w", err)
	}
	return nil
}

// DecodeReport reads a report written by EncodeJSON.
func DecodeReport(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("nemesis: read report: %w", err)
	}
	return &r, nil
}

// WriteText writes the report as tables for people.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	verdict := "PASS: no anomalies"
	if r.Failed() {
		verdict = "FAIL: anomalies found"
	}
	fmt.Fprintf(tw, "%s\n", verdict)
	fmt.Fprintf(tw, "operations\t%d\tok %d\tfail %d\tinfo %d\n", r.Ops.Total, r.Ops.OK, r.Ops.Fail, r.Ops.Info)
	conv := "not converged after"
	if r.Converge.Converged {
		conv = "converged in"
	}
	fmt.Fprintf(tw, "replicas\t%s %v\n", conv, time.Duration(r.Converge.Nanos))
	fmt.Fprintf(tw, "longest write gap\t%v\t(%v .. %v)\n", r.LongestWriteGap.Duration(),
		time.Duration(r.LongestWriteGap.StartNanos), time.Duration(r.LongestWriteGap.EndNanos))
	fmt.Fprintf(tw, "\nANOMALY\tCOUNT\n")
	for _, k := range AnomalyKinds {
		fmt.Fprintf(tw, "%s\t%d\n", k, r.Count(k))
	}
	fmt.Fprintf(tw, "\nFAULT\tSENT\tOK\tSHARE\tLONGEST WRITE GAP\tCONVERGED AFTER HEAL (SLOWEST)\n")
	for _, a := range r.Availability {
		gap := a.LongestWriteGap.Duration().String()
		if a.Fault == noFault {
			gap = "-" // measured per fault only; the run's is above
		}
		conv := "-"
		if a.Probed > 0 {
			conv = fmt.Sprintf("%d of %d (%v)", a.Probed-a.NotConverged, a.Probed,
				time.Duration(a.LongestConverge).Round(time.Millisecond))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%s\t%s\n", a.Fault, a.Sent, a.OK, 100*a.Share, gap, conv)
	}
	if len(r.Counters) > 0 {
		fmt.Fprintf(tw, "\nCOUNTER\tTOTAL\tOK INCREMENTS\tINFO INCREMENTS\n")
		for _, c := range r.Counters {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", c.Key, c.Total, c.OK, c.Info)
		}
	}
	if len(r.SiblingCounts) > 0 {
		fmt.Fprintf(tw, "\nWORKLOAD\tSIBLINGS\tREADS\n")
		for _, s := range r.SiblingCounts {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", s.Workload, s.Siblings, s.Reads)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("nemesis: write report: %w", err)
	}
	for _, g := range r.Anomalies {
		fmt.Fprintf(w, "\n%s (%d, first %d):\n", g.Kind, g.Count, len(g.Examples))
		for _, a := range g.Examples {
			fmt.Fprintf(w, "  %s\n", a.line())
		}
	}
	return nil
}

func (a Anomaly) line() string {
	var b strings.Builder
	if a.Key != "" {
		fmt.Fprintf(&b, "key %q: ", a.Key)
	}
	b.WriteString(a.Detail)
	if len(a.Ops) > 0 {
		fmt.Fprintf(&b, " [ops %s]", strings.Trim(fmt.Sprint(a.Ops), "[]"))
	}
	if len(a.Nodes) > 0 {
		fmt.Fprintf(&b, " [nodes %s]", strings.Join(a.Nodes, " "))
	}
	return b.String()
}

// sortAnomalies orders the groups by kind.
func sortGroups(gs []AnomalyGroup) {
	slices.SortFunc(gs, func(a, b AnomalyGroup) int {
		return slices.Index(AnomalyKinds, a.Kind) - slices.Index(AnomalyKinds, b.Kind)
	})
}
