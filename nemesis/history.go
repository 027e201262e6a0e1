package nemesis

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Kind is what a client operation does.
type Kind string

// The operation kinds: a quorum read, a write, a delete.
const (
	Get    Kind = "get"
	Put    Kind = "put"
	Delete Kind = "delete"
)

// Outcome is what a client learned of an operation.
type Outcome string

const (
	// OK: the node acknowledged the operation.
	OK Outcome = "ok"
	// Fail: the operation certainly did not take effect, e.g. a 4xx, a
	// "node starting" 503 or a refused dial. A runner that is not sure
	// must record Info: a Fail write whose value shows up later is a
	// phantom.
	Fail Outcome = "fail"
	// Info: indeterminate, as Jepsen's :info. It may have taken effect
	// (a timeout, a connection reset after the request was sent, a quorum
	// error after the coordinator stored the write).
	Info Outcome = "info"
)

// FaultKind names a kind of fault on the timeline.
type FaultKind string

// The fault kinds a timeline may hold.
const (
	FaultKill      FaultKind = "kill"
	FaultPause     FaultKind = "pause"
	FaultPartition FaultKind = "partition"
	FaultClock     FaultKind = "clock"
	FaultDisk      FaultKind = "disk"
	FaultJoin      FaultKind = "join"
	FaultLeave     FaultKind = "leave"
	// FaultMembership is a join or a leave, as nemesis/inject names
	// them both, so that its events map onto faults by name.
	FaultMembership FaultKind = "membership"
)

// FaultKinds lists every fault kind, in the report's order.
var FaultKinds = []FaultKind{FaultKill, FaultPause, FaultPartition, FaultClock, FaultDisk, FaultJoin, FaultLeave, FaultMembership}

// Sibling is one value a read returned.
type Sibling struct {
	// Value is the raw value (base64 in JSON).
	Value     []byte `json:"value"`
	Tombstone bool   `json:"tombstone,omitempty"`
}

// Op is one client operation, recorded once it completed (or was given
// up on). Times are nanoseconds since the start of the run, on one
// monotonic clock for the whole run.
type Op struct {
	// Seq is unique in the history; the runner assigns it in invoke order.
	Seq int64 `json:"seq"`
	// Process is the client that ran the operation; a client runs one
	// operation at a time.
	Process int `json:"process"`
	// Node is the node the request was sent to.
	Node string `json:"node"`
	// Workload is the name of the workload that generated the operation.
	Workload string `json:"workload"`
	Kind     Kind   `json:"kind"`
	Key      string `json:"key"`
	// Value is what a put wrote (see the workloads for its encoding).
	Value []byte `json:"value,omitempty"`
	// Context is the causal context sent with a put or delete.
	Context  string  `json:"context,omitempty"`
	Invoke   int64   `json:"invoke_ns"`
	Complete int64   `json:"complete_ns"`
	Outcome  Outcome `json:"outcome"`
	// Error is the error the client saw, for people reading the history.
	Error string `json:"error,omitempty"`
	// Siblings are the values an OK read returned (none when not found).
	Siblings []Sibling `json:"siblings,omitempty"`
	// RespContext is the context the node answered with: a read's, or
	// the new state's after a put or delete.
	RespContext string `json:"resp_context,omitempty"`
}

// Fault is one fault on the timeline, active during [Start, End).
type Fault struct {
	Kind FaultKind `json:"kind"`
	// Nodes are the nodes the fault makes unhealthy: the killed, paused,
	// clock-shifted or disk-faulted node, a partition's minority side,
	// the joining or leaving node. Requests sent to other nodes count
	// for availability.
	Nodes []string `json:"nodes"`
	Start int64    `json:"start_ns"`
	End   int64    `json:"end_ns"`
	// Note describes the fault for people (e.g. "majority/minority").
	Note string `json:"note,omitempty"`
	// Converge, when the runner probed it, is how long after End the
	// keys written around the fault took to agree on their replicas.
	Converge *HealConvergence `json:"converge,omitempty"`
}

// HealConvergence is one probe after a heal: the write-once keys whose
// writes were sent while the fault was in force (or just before it),
// read on every replica's own copy until they agree.
type HealConvergence struct {
	Keys      int   `json:"keys"`
	Nanos     int64 `json:"ns"`
	Converged bool  `json:"converged"`
}

// Copy is one node's own stored copy of a key. Its JSON is that of GET
// /v1/replica/{key}, so a runner decodes the answer straight into it.
type Copy struct {
	Node      string `json:"node"`
	Partition uint32 `json:"partition"`
	// Replica is whether the node is one of the key's primaries. Checks
	// that demand a value on "every replica" look at these copies (at all
	// copies when no copy is marked).
	Replica  bool          `json:"replica"`
	Found    bool          `json:"found"`
	Context  string        `json:"context,omitempty"`
	Digest   string        `json:"digest,omitempty"`
	Siblings []CopySibling `json:"siblings,omitempty"`
}

// CopySibling is one stored sibling of a Copy.
type CopySibling struct {
	// Dot is the write that made the sibling, "node:counter".
	Dot            string `json:"dot"`
	Value          []byte `json:"value"`
	Tombstone      bool   `json:"tombstone,omitempty"`
	TimestampNanos int64  `json:"timestamp_ns"`
}

// Final is the state after every fault healed and the convergence wait.
type Final struct {
	// Keys holds, for every key the history touched, each node's copy.
	Keys map[string][]Copy `json:"keys"`
	// ConvergeNanos is how long after the heal the replicas took to
	// agree (or how long the runner waited, if they never did).
	ConvergeNanos int64 `json:"converge_ns"`
	Converged     bool  `json:"converged"`
}

// Meta describes the run a history comes from.
type Meta struct {
	Seed      int64    `json:"seed"`
	Nodes     []string `json:"nodes,omitempty"`
	Workloads []string `json:"workloads,omitempty"`
	// Note is free text: the binary's version, N/R/W, the command line.
	Note string `json:"note,omitempty"`
}

// History is everything the checker reads about one run.
type History struct {
	Meta   Meta
	Ops    []Op
	Faults []Fault
	Final  Final
}

// record is one line of a history file: exactly one field is set.
type record struct {
	Meta     *Meta      `json:"meta,omitempty"`
	Op       *Op        `json:"op,omitempty"`
	Fault    *Fault     `json:"fault,omitempty"`
	Copies   *keyCopies `json:"final,omitempty"`
	Converge *converge  `json:"converge,omitempty"`
}

type keyCopies struct {
	Key    string `json:"key"`
	Copies []Copy `json:"copies"`
}

type converge struct {
	Nanos     int64 `json:"ns"`
	Converged bool  `json:"converged"`
}

// maxLine bounds one line of a history file, so that a corrupt file
// cannot make the reader buffer without end.
const maxLine = 64 << 20

// Encoder writes a history file, one JSON object a line, as the run goes:
// a run that dies still leaves every operation recorded so far. It is
// safe for concurrent use.
type Encoder struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{enc: json.NewEncoder(w)} }

func (e *Encoder) write(r record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		if err := e.enc.Encode(r); err != nil {
			e.err = fmt.Errorf("nemesis: write history: %w", err)
		}
	}
	return e.err
}

// Meta writes the run's description.
func (e *Encoder) Meta(m Meta) error { return e.write(record{Meta: &m}) }

// Op writes one completed operation.
func (e *Encoder) Op(op Op) error { return e.write(record{Op: &op}) }

// Fault writes one fault, once its end is known.
func (e *Encoder) Fault(f Fault) error { return e.write(record{Fault: &f}) }

// Final writes the final state: one line per key, then the convergence.
func (e *Encoder) Final(f Final) error {
	keys := make([]string, 0, len(f.Keys))
	for k := range f.Keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := e.write(record{Copies: &keyCopies{Key: k, Copies: f.Keys[k]}}); err != nil {
			return err
		}
	}
	return e.write(record{Converge: &converge{Nanos: f.ConvergeNanos, Converged: f.Converged}})
}

// Encode writes the whole history h to w as JSON lines.
func (h *History) Encode(w io.Writer) error {
	e := NewEncoder(w)
	if err := e.Meta(h.Meta); err != nil {
		return err
	}
	for _, f := range h.Faults {
		if err := e.Fault(f); err != nil {
			return err
		}
	}
	for _, op := range h.Ops {
		if err := e.Op(op); err != nil {
			return err
		}
	}
	return e.Final(h.Final)
}

// ErrBadHistory is wrapped by every error ReadHistory returns for bad
// input (as opposed to a failing reader).
var ErrBadHistory = errors.New("nemesis: bad history")

// ReadHistory reads a history file written by Encoder. The records may
// come in any order; operations are sorted by Seq. It validates what the
// checker relies on and names the line of the first problem.
func ReadHistory(r io.Reader) (*History, error) {
	h := &History{Final: Final{Keys: map[string][]Copy{}}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	seqs := map[int64]bool{}
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := h.addLine(sc.Bytes(), seqs); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrBadHistory, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: a line longer than %d bytes", ErrBadHistory, maxLine)
		}
		return nil, fmt.Errorf("nemesis: read history: %w", err)
	}
	slices.SortFunc(h.Ops, func(a, b Op) int { return cmpInt(a.Seq, b.Seq) })
	return h, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (h *History) addLine(b []byte, seqs map[int64]bool) error {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	set := 0
	for _, p := range []bool{r.Meta != nil, r.Op != nil, r.Fault != nil, r.Copies != nil, r.Converge != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("want exactly one of meta, op, fault, final, converge; got %d", set)
	}
	switch {
	case r.Meta != nil:
		h.Meta = *r.Meta
	case r.Op != nil:
		if err := r.Op.validate(); err != nil {
			return err
		}
		if seqs[r.Op.Seq] {
			return fmt.Errorf("op seq %d twice", r.Op.Seq)
		}
		seqs[r.Op.Seq] = true
		h.Ops = append(h.Ops, *r.Op)
	case r.Fault != nil:
		if err := r.Fault.validate(); err != nil {
			return err
		}
		h.Faults = append(h.Faults, *r.Fault)
	case r.Copies != nil:
		if _, dup := h.Final.Keys[r.Copies.Key]; dup {
			return fmt.Errorf("final state of key %q twice", r.Copies.Key)
		}
		h.Final.Keys[r.Copies.Key] = r.Copies.Copies
	case r.Converge != nil:
		if r.Converge.Nanos < 0 {
			return fmt.Errorf("negative convergence time %d", r.Converge.Nanos)
		}
		h.Final.ConvergeNanos = r.Converge.Nanos
		h.Final.Converged = r.Converge.Converged
	}
	return nil
}

func (op *Op) validate() error {
	switch op.Kind {
	case Get, Put, Delete:
	default:
		return fmt.Errorf("op %d: unknown kind %q", op.Seq, op.Kind)
	}
	switch op.Outcome {
	case OK, Fail, Info:
	default:
		return fmt.Errorf("op %d: unknown outcome %q", op.Seq, op.Outcome)
	}
	if op.Invoke < 0 || op.Complete < op.Invoke {
		return fmt.Errorf("op %d: times invoke %d, complete %d are out of order", op.Seq, op.Invoke, op.Complete)
	}
	if op.Key == "" {
		return fmt.Errorf("op %d: empty key", op.Seq)
	}
	return nil
}

func (f *Fault) validate() error {
	if !slices.Contains(FaultKinds, f.Kind) {
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.Start < 0 || f.End < f.Start {
		return fmt.Errorf("%s fault: times start %d, end %d are out of order", f.Kind, f.Start, f.End)
	}
	return nil
}

// Keys returns, sorted, every key the history's operations touched: the
// keys whose final copies the checker needs.
func (h *History) Keys() []string {
	seen := map[string]bool{}
	var keys []string
	for _, op := range h.Ops {
		if !seen[op.Key] {
			seen[op.Key] = true
			keys = append(keys, op.Key)
		}
	}
	slices.Sort(keys)
	return keys
}

// Agree reports whether a key's copies have converged, as the checker
// judges it: the primaries' copies (every copy when none is marked) are
// all read as no value (not found, or tombstones only) or all hold the
// same digest. A runner polls it to measure the time to converge.
func Agree(copies []Copy) bool {
	reps := primaries(copies)
	for _, cp := range reps {
		if cp.deleted() != reps[0].deleted() || (!cp.deleted() && cp.Digest != reps[0].Digest) {
			return false
		}
	}
	return true
}

// deleted reports whether the copy reads as no value: not found, or only
// tombstones. A replica that collected a tombstone (every primary held it
// past the grace, and each drops its own in its own time) agrees with
// one that still holds it.
func (cp Copy) deleted() bool {
	if !cp.Found {
		return true
	}
	if len(cp.Siblings) == 0 {
		return false // found, its siblings not shown: judge by the digest
	}
	for _, s := range cp.Siblings {
		if !s.Tombstone {
			return false
		}
	}
	return true
}

// primaries returns the copies marked as the key's primaries, or every
// copy when none is.
func primaries(copies []Copy) []Copy {
	var reps []Copy
	for _, cp := range copies {
		if cp.Replica {
			reps = append(reps, cp)
		}
	}
	if len(reps) == 0 {
		return copies
	}
	return reps
}
