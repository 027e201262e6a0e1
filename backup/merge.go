package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/chorusdb/chorus/vclock"
)

// Cursor walks one replica's copy of a partition in key order.
type Cursor interface {
	// Next returns the next key and its set, or ok false after the last.
	Next(ctx context.Context) (key []byte, set vclock.Set, ok bool, err error)
}

// ErrNoReplica is wrapped by Merger.Next's error when every cursor failed
// and none was read to the end.
var ErrNoReplica = errors.New("backup: no replica could be read")

// Merger merges the cursors of a partition's replicas into one stream with
// each key once, its set the vclock.Sync of every copy read. A cursor that
// fails leaves the merge; the others go on. It is not safe for
// concurrent use.
type Merger struct {
	cmp   func(a, b []byte) int
	heads []head
	begun bool
}

type head struct {
	c    Cursor
	key  []byte
	set  vclock.Set
	done bool  // read to the end
	err  error // failed: out of the merge
}

func (h *head) live() bool { return !h.done && h.err == nil }

// NewMerger returns a Merger of cursors, whose keys all come in the order
// cmp defines (the storage scan order).
func NewMerger(cmp func(a, b []byte) int, cursors []Cursor) *Merger {
	m := &Merger{cmp: cmp, heads: make([]head, len(cursors))}
	for i, c := range cursors {
		m.heads[i].c = c
	}
	return m
}

// advance moves head h to its cursor's next key. A key not after the
// previous one breaks the order every merge relies on: the cursor fails.
func (m *Merger) advance(ctx context.Context, h *head) {
	key, set, ok, err := h.c.Next(ctx)
	switch {
	case err != nil:
		h.err = err
	case !ok:
		h.done = true
	case h.key != nil && m.cmp(key, h.key) <= 0:
		h.err = fmt.Errorf("backup: cursor went back from %q to %q", h.key, key)
	default:
		h.key, h.set = key, set
	}
}

// Next returns the next key and its merged set, ok false once every cursor
// has ended or failed. It fails (wrapping ErrNoReplica) when every cursor
// failed, none read to the end; ctx's error ends it too.
func (m *Merger) Next(ctx context.Context) (key []byte, set vclock.Set, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, vclock.Set{}, false, err
	}
	if !m.begun {
		m.begun = true
		for i := range m.heads {
			m.advance(ctx, &m.heads[i])
		}
	}
	var min []byte
	for i := range m.heads {
		if h := &m.heads[i]; h.live() && (min == nil || m.cmp(h.key, min) < 0) {
			min = h.key
		}
	}
	if min == nil {
		return nil, vclock.Set{}, false, m.endErr()
	}
	first := true
	for i := range m.heads {
		h := &m.heads[i]
		if !h.live() || m.cmp(h.key, min) != 0 {
			continue
		}
		if first {
			set, first = h.set, false
		} else {
			set = vclock.Sync(set, h.set)
		}
		m.advance(ctx, h)
	}
	return min, set, true, nil
}

// endErr is nil when some cursor was read to the end.
func (m *Merger) endErr() error {
	var errs []error
	for i := range m.heads {
		if m.heads[i].done {
			return nil
		}
		errs = append(errs, m.heads[i].err)
	}
	return fmt.Errorf("%w: %w", ErrNoReplica, errors.Join(errs...))
}

// Errors returns, per cursor in NewMerger's order, the error that took it
// out of the merge, nil for the cursors still in it or read to the end.
func (m *Merger) Errors() []error {
	errs := make([]error, len(m.heads))
	for i := range m.heads {
		errs[i] = m.heads[i].err
	}
	return errs
}

// Change is what merging a backed-up set into a cluster's set would do.
type Change int

const (
	// Covered: the cluster's set already holds everything the backup's
	// does (equal, or newer writes superseded it); the merge changes
	// nothing.
	Covered Change = iota
	// Adds: the merge adds siblings or versions the cluster lacks.
	Adds
	// New: the cluster has no trace of the key.
	New
	// Clash: a sibling of the backup and one of the cluster carry the
	// same dot but different values. Dots are (node, counter): nodes that
	// were wiped and kept their IDs mint the dots of the backup again for
	// other writes, and a merge keeps one value per dot, so one of the
	// two would be lost. Restore into wiped nodes before they take writes,
	// or give fresh nodes new IDs.
	Clash
)

func (c Change) String() string {
	switch c {
	case Covered:
		return "covered"
	case Adds:
		return "adds"
	case New:
		return "new"
	case Clash:
		return "clash"
	}
	return fmt.Sprintf("Change(%d)", int(c))
}

// Classify says what merging backed into cluster (the merged copies of
// the key's replicas; the zero Set when none has it) would do.
func Classify(cluster, backed vclock.Set) Change {
	if cluster.IsEmpty() && cluster.Context().IsEmpty() {
		if backed.IsEmpty() && backed.Context().IsEmpty() {
			return Covered
		}
		return New
	}
	if clashes(cluster, backed) {
		return Clash
	}
	if vclock.Sync(cluster, backed).Equal(cluster) {
		return Covered
	}
	return Adds
}

// clashes reports a dot both sets hold with different values.
func clashes(a, b vclock.Set) bool {
	for _, x := range a.Siblings() {
		for _, y := range b.Siblings() {
			if x.Dot == y.Dot && (x.Tombstone != y.Tombstone || x.Timestamp != y.Timestamp || !bytes.Equal(x.Data, y.Data)) {
				return true
			}
		}
	}
	return false
}
