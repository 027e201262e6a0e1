package handoff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chorusdb/chorus/clock"
)

// worker runs transfers one at a time until Close.
func (m *Manager) worker() {
	for {
		t := m.claim()
		if t == nil {
			if !m.wait() {
				return
			}
			continue
		}
		// Pass the wake-up on: another worker may claim the next pending
		// partition (one poke wakes one worker).
		m.poke()
		m.run(t)
	}
}

// wait blocks until a poke, or RetryAfter while a transfer is pending (one
// waiting for its retry comes due). With nothing pending it arms no timer,
// so an idle node's workers do not wake every RetryAfter for nothing; a
// ring change that plans transfers pokes them. It reports false once the
// Manager is closed.
func (m *Manager) wait() bool {
	var retry <-chan time.Time
	if m.anyPending.Load() {
		var timer clock.Timer
		timer, retry = m.cfg.Clock.NewTimer(m.cfg.RetryAfter)
		defer timer.Stop()
	}
	select {
	case <-m.ctx.Done():
		return false
	case <-m.wake:
	case <-retry:
	}
	return true
}

// claim takes the lowest pending partition that is not running and not
// waiting for a retry, or returns nil.
func (m *Manager) claim() *transfer {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.Clock.Now()
	var best *transfer
	for _, t := range m.pending {
		if t.running || now.Before(t.retryAt) {
			continue
		}
		if best == nil || t.Partition < best.Partition {
			best = t
		}
	}
	if best != nil {
		best.running = true
		best.lastProgress = now
	}
	return best
}

// Step runs one pending transfer to its end (or failure) in the caller's
// goroutine and reports whether there was one. For tests with Manual.
func (m *Manager) Step() bool {
	t := m.claim()
	if t == nil {
		return false
	}
	m.run(t)
	return true
}

// run pulls one transfer and records the outcome.
func (m *Manager) run(t *transfer) {
	ctx, cancel := context.WithCancel(m.ctx)
	m.mu.Lock()
	t.cancel = cancel
	m.mu.Unlock()
	defer cancel()
	began := m.cfg.Clock.Now()
	err := m.pull(ctx, t)
	m.mu.Lock()
	m.busy += m.cfg.Clock.Since(began)
	t.running, t.cancel = false, nil
	if m.pending[t.Partition] != t {
		m.mu.Unlock()
		return // dropped by a ring change meanwhile
	}
	if err != nil {
		t.err = err.Error()
		t.retryAt = m.cfg.Clock.Now().Add(m.cfg.RetryAfter)
		m.mu.Unlock()
		if m.ctx.Err() == nil {
			m.cfg.Logger.Warn("handoff: transfer paused", "partition", t.Partition, "err", err)
		}
		return
	}
	delete(m.pending, t.Partition)
	m.anyPending.Store(len(m.pending) > 0)
	m.phases[t.Partition] = phaseComplete
	m.stats.Completed++
	keys, took := t.Keys, m.cfg.Clock.Since(t.Started)
	m.mu.Unlock()
	if err := m.maybeSave(m.ctx); err != nil && m.ctx.Err() == nil {
		m.cfg.Logger.Error("handoff: completed transfer not saved; it will run again", "partition", t.Partition, "err", err)
	}
	m.cfg.Logger.Info("handoff: partition received", "partition", t.Partition, "keys", keys,
		"took", took.Round(time.Millisecond))
	if m.cfg.OnComplete != nil {
		m.cfg.OnComplete(t.Partition)
	}
}

// pull copies the partition from its replaced owner when that one is up
// and holds it whole, and otherwise from every other old holder.
//
// A replaced owner that is up but holds only part of the partition (it
// gained the partition and lost it again before its own pull finished, as
// a node that leaves just after joining does) is still read to the end
// and merged: it may hold writes no other holder has, those it took as a
// primary since it gained the partition. Its part never completes the
// transfer; the other holders, pulled after it, do.
func (m *Manager) pull(ctx context.Context, t *transfer) error {
	if t.Replaced != "" && !t.ReplacedPart && (t.Source == "" || t.Source == t.Replaced) && m.cfg.Liveness.Alive(t.Replaced) {
		whole, err := m.pullFrom(ctx, t, t.Replaced, true)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil && whole:
			return nil
		case err == nil:
			m.mu.Lock()
			t.ReplacedPart = true
			t.Source, t.Cursor = "", nil
			m.mu.Unlock()
			m.cfg.Logger.Info("handoff: replaced owner held part of the partition; its part is merged, pulling the rest from every other holder",
				"partition", t.Partition, "from", t.Replaced)
		default:
			m.cfg.Logger.Warn("handoff: replaced owner cannot serve; pulling from every other holder",
				"partition", t.Partition, "from", t.Replaced, "err", err)
			if err := m.pullUnion(ctx, t); err != nil {
				return err
			}
			m.retryReplaced(ctx, t)
			return nil
		}
	}
	return m.pullUnion(ctx, t)
}

// retryReplaced reads the replaced owner once more, after the other
// holders completed the transfer, if it failed before but is up: it may
// hold writes nobody else has, and a leaving node waits for each new
// owner to have read it to the end before it stops. A failure now is
// only logged: the transfer is complete without it.
func (m *Manager) retryReplaced(ctx context.Context, t *transfer) {
	if !m.cfg.Liveness.Alive(t.Replaced) {
		return
	}
	m.resetSource(t, "")
	if _, err := m.pullFrom(ctx, t, t.Replaced, true); err != nil && ctx.Err() == nil {
		m.cfg.Logger.Warn("handoff: replaced owner still cannot serve; the transfer completed from the other holders",
			"partition", t.Partition, "from", t.Replaced, "err", err)
	}
}

// pullUnion pulls from every other old holder that is up, and from the
// partition's other primaries in the latest ring. The transfer
// completes only when each of them served the partition whole or said it
// does not hold it whole; one that is up but fails makes the transfer
// wait and retry (the sources already pulled are not pulled again), so no
// holder's keys are skipped for a passing failure.
func (m *Manager) pullUnion(ctx context.Context, t *transfer) error {
	m.mu.Lock()
	holder := func(n string) bool {
		return slices.Contains(t.Others, n) || (m.current != nil && slices.Contains(m.current.Primaries(t.Partition), n))
	}
	if t.Source != "" && (!holder(t.Source) || !m.cfg.Liveness.Alive(t.Source)) {
		t.Source, t.Cursor = "", nil // the source in progress is gone: its pull starts over elsewhere
	}
	order := make([]string, 0, len(t.Others))
	if t.Source != "" {
		order = append(order, t.Source) // resume the source in progress first
	}
	for _, src := range t.Others {
		if src != t.Source {
			order = append(order, src)
		}
	}
	// The partition's primaries now are holders too. When nodes join
	// together, the old holders this transfer was planned with may all
	// be pulling the partition themselves, or have dropped it once handed
	// off to an owner a later change made; a primary that completed its
	// own pull holds it whole, and without it no transfer could ever
	// complete.
	if m.current != nil {
		for _, src := range m.current.Primaries(t.Partition) {
			if src != m.cfg.Self && !slices.Contains(order, src) {
				order = append(order, src)
			}
		}
	}
	m.mu.Unlock()
	served, notWhole := 0, 0
	var failed []error
	for _, src := range order {
		if slices.Contains(t.Pulled, src) {
			served++
			continue
		}
		if !m.cfg.Liveness.Alive(src) {
			continue
		}
		_, err := m.pullFrom(ctx, t, src, false)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, errNotWhole):
			m.resetSource(t, "")
			notWhole++
			continue // it cannot serve the partition whole; the others can
		case err != nil:
			m.resetSource(t, "")
			failed = append(failed, err)
			continue
		}
		m.mu.Lock()
		t.Pulled = append(t.Pulled, src)
		t.Source, t.Cursor = "", nil
		m.mu.Unlock()
		served++
	}
	if len(failed) > 0 {
		return fmt.Errorf("handoff: %d holder(s) up but failing, will retry: %w", len(failed), errors.Join(failed...))
	}
	if served == 0 && notWhole > 0 && notWhole == len(order) && m.cfg.Clock.Since(t.Started) >= m.cfg.StallAfter {
		return m.pullEveryone(ctx, t)
	}
	if served == 0 {
		return errNoSource
	}
	return nil
}

// pullEveryone breaks the wait of nodes that joined together: for
// StallAfter every holder of the partition was up and none held it
// whole (a shorter wait may only be a holder finishing its pull), each
// is pulling it from the others (a node that held it whole dropped it
// only after a successor read it to the end, and that successor lost it
// again to a later change before finishing its own pull). Waiting would
// last forever. The partition's data is then the union of every
// member's copy, whole or not, so the transfer merges each live
// member's copy to the end and completes; if any member is down it
// waits, since the down one may hold writes no one else has.
func (m *Manager) pullEveryone(ctx context.Context, t *transfer) error {
	m.mu.Lock()
	var members []string
	if m.current != nil {
		for _, mem := range m.current.Members() {
			if mem.ID != m.cfg.Self {
				members = append(members, mem.ID)
			}
		}
	}
	m.mu.Unlock()
	for _, id := range members {
		if !m.cfg.Liveness.Alive(id) {
			return fmt.Errorf("%w (none holds it whole, and %s is down: it may hold writes the others lack)", errNoSource, id)
		}
	}
	m.cfg.Logger.Warn("handoff: no holder of the partition holds it whole, each pulling it from the others; merging every member's copy",
		"partition", t.Partition, "members", len(members))
	for _, id := range members {
		// Not recorded in Pulled: a partial copy completes nothing, and
		// a retry after a failure reads every member again.
		if _, err := m.pullFrom(ctx, t, id, true); err != nil {
			m.resetSource(t, "")
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("handoff: merging every member's copy: %s: %w", id, err)
		}
		m.resetSource(t, "")
	}
	return nil
}

func (m *Manager) resetSource(t *transfer, src string) {
	m.mu.Lock()
	t.Source, t.Cursor = src, nil
	m.mu.Unlock()
}

// errNotWhole means the source does not hold the partition whole.
var errNotWhole = errors.New("handoff: source does not hold the partition whole")

// errStalled means pages stopped coming for StallAfter.
var errStalled = errors.New("handoff: transfer stalled")

// pullFrom pages through partition t.Partition on src from t.Cursor on,
// merging every item, saving progress after each page. It reports whether
// src held the partition whole. Unless partial, it stops at the first page
// of a source that does not, with errNotWhole, merging nothing of it;
// with partial it merges every page to the end either way.
func (m *Manager) pullFrom(ctx context.Context, t *transfer, src string, partial bool) (whole bool, err error) {
	m.mu.Lock()
	if t.Source != src {
		t.Source, t.Cursor = src, nil
	}
	// Each source gets StallAfter of its own before it is given up.
	t.lastProgress = m.cfg.Clock.Now()
	m.mu.Unlock()
	whole = true
	for {
		page, err := m.page(ctx, t, src)
		if err != nil {
			return false, err
		}
		if !page.Complete && !partial {
			return false, fmt.Errorf("%w: %s", errNotWhole, src)
		}
		whole = whole && page.Complete
		if err := m.merge(ctx, t, page); err != nil {
			return false, err
		}
		if err := m.maybeSave(ctx); err != nil {
			return false, err
		}
		if page.Done {
			return whole, nil
		}
	}
}

// page fetches the next page, retrying failures until StallAfter passes
// without progress.
func (m *Manager) page(ctx context.Context, t *transfer, src string) (Page, error) {
	for {
		m.mu.Lock()
		after := bytes.Clone(t.Cursor)
		m.mu.Unlock()
		pctx, cancel := context.WithTimeout(ctx, m.cfg.PageTimeout)
		page, err := m.cfg.Source.Scan(pctx, src, t.Partition, after, m.cfg.PageKeys)
		cancel()
		if err == nil {
			return page, nil
		}
		if ctx.Err() != nil {
			return Page{}, ctx.Err()
		}
		m.mu.Lock()
		m.stats.Failures++
		t.err = err.Error()
		stalled := m.cfg.Clock.Since(t.lastProgress) > m.cfg.StallAfter
		if stalled && !t.stalled {
			t.stalled = true
			m.stats.Stalls++
		}
		m.mu.Unlock()
		if stalled {
			m.cfg.Logger.Warn("handoff: transfer stalled", "partition", t.Partition, "source", src,
				"since", m.cfg.Clock.Since(t.lastProgress).Round(time.Second), "err", err)
			return Page{}, fmt.Errorf("%w: no page from %s for %v: %w", errStalled, src, m.cfg.StallAfter, err)
		}
		if err := clock.Sleep(ctx, m.cfg.Clock, min(m.cfg.RetryAfter, m.cfg.StallAfter)); err != nil {
			return Page{}, err
		}
	}
}

// merge stores a page's items and advances the cursor.
func (m *Manager) merge(ctx context.Context, t *transfer, page Page) error {
	if err := m.pacer.Load().Wait(ctx, len(page.Items)); err != nil {
		return err
	}
	// Merge concurrently: the store commits concurrent writes together.
	errs := make([]error, len(page.Items))
	var wg sync.WaitGroup
	var n uint64
	for i, it := range page.Items {
		wg.Go(func() { errs[i] = m.cfg.Store.Merge(ctx, t.Partition, it.Key, it.Set) })
		n += uint64(len(it.Key) + encodedLen(it))
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("handoff: merge: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(page.Items) > 0 {
		t.Cursor = bytes.Clone(page.Items[len(page.Items)-1].Key)
	}
	t.Keys += uint64(len(page.Items))
	t.Bytes += n
	t.lastProgress = m.cfg.Clock.Now()
	t.stalled, t.err = false, ""
	m.stats.Keys += uint64(len(page.Items))
	m.stats.Bytes += n
	return nil
}

func encodedLen(it Item) int {
	if it.Size > 0 {
		return it.Size
	}
	var buf [256]byte
	return len(it.Set.AppendEncode(buf[:0]))
}
