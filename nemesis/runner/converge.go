package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chorusdb/chorus/nemesis"
	"github.com/chorusdb/chorus/nemesis/inject"
)

// converge waits until every key's replicas agree, reading each member's
// own copy, or ConvergeTimeout passes; then it reads every copy once
// more for the final state. healed is when the heal ended.
func (r *run) converge(ctx context.Context, healed int64) nemesis.Final {
	h := &nemesis.History{Ops: r.ops}
	keys := h.Keys()
	members := r.members(ctx)
	r.logf("waiting for the replicas of %d keys on %d nodes to agree", len(keys), len(members))
	deadline := time.Now().Add(r.cfg.ConvergeTimeout)
	pending := keys
	converged := false
	for pass := 1; ; pass++ {
		began, n := time.Now(), len(pending)
		var first []nemesis.Copy
		pending, first = r.disagreeing(ctx, pending, members)
		// A pass over every key takes long (five reads each): the time to
		// converge is only known to within the first pass's length, and
		// which keys were late says why.
		if len(pending) == 0 {
			r.logf("pass %d over %d keys took %v: all agree", pass, n, time.Since(began).Round(time.Millisecond))
			converged = true
			break
		}
		r.logf("pass %d over %d keys took %v: %d disagree, %s first: %s", pass, n,
			time.Since(began).Round(time.Millisecond), len(pending), pending[0], describeCopies(first))
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.logf("%d keys still disagree after %v, %s first", len(pending), r.cfg.ConvergeTimeout, pending[0])
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	final := nemesis.Final{Keys: map[string][]nemesis.Copy{}, ConvergeNanos: r.since() - healed, Converged: converged}
	if converged {
		r.logf("replicas agree %v after the heal", time.Duration(final.ConvergeNanos).Round(time.Millisecond))
	}
	r.saveStatus(ctx, members)
	all := r.copiesOf(ctx, keys, members)
	for i, k := range keys {
		final.Keys[k] = all[i]
	}
	return final
}

// readWorkers bounds the copy reads in flight: enough to read thousands
// of keys on five nodes in a second or two.
const readWorkers = 16

// copiesOf reads every member's copy of each key, readWorkers keys at a
// time, in keys' order.
func (r *run) copiesOf(ctx context.Context, keys []string, members []int) [][]nemesis.Copy {
	out := make([][]nemesis.Copy, len(keys))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(readWorkers, len(keys)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = r.copies(ctx, keys[i], members)
			}
		}()
	}
	for i := range keys {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// disagreeing returns the keys whose replicas do not agree yet, and the
// copies of the first of them.
func (r *run) disagreeing(ctx context.Context, keys []string, members []int) ([]string, []nemesis.Copy) {
	var still []string
	var first []nemesis.Copy
	for i, copies := range r.copiesOf(ctx, keys, members) {
		if !nemesis.Agree(copies) {
			if still == nil {
				first = copies
			}
			still = append(still, keys[i])
		}
	}
	return still, first
}

// members returns the nodes that run and serve the ring at the end: the
// cluster's, not those a membership fault added and removed.
func (r *run) members(ctx context.Context) []int {
	var out []int
	for i := range r.cluster.Len() {
		if r.cluster.Running(i) {
			out = append(out, i)
		}
	}
	return out
}

// copies reads every member's own copy of key; a node that does not
// answer gives a copy marked by its error in the digest, which agrees
// with nothing.
func (r *run) copies(ctx context.Context, key string, members []int) []nemesis.Copy {
	out := make([]nemesis.Copy, 0, len(members))
	for _, i := range members {
		cp, err := r.copyAt(ctx, i, key)
		if err != nil {
			cp = nemesis.Copy{Node: nodeName(i), Replica: true, Found: true, Digest: "unreadable: " + err.Error()}
		}
		out = append(out, cp)
	}
	return out
}

func (r *run) copyAt(ctx context.Context, i int, key string) (nemesis.Copy, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.nodeURL(i)+"/v1/replica/"+key, nil)
	if err != nil {
		return nemesis.Copy{}, err
	}
	resp, err := r.web.Do(req)
	if err != nil {
		return nemesis.Copy{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return nemesis.Copy{}, fmt.Errorf("%s: %s", resp.Status, b)
	}
	var cp nemesis.Copy
	if err := json.NewDecoder(resp.Body).Decode(&cp); err != nil {
		return nemesis.Copy{}, err
	}
	return cp, nil
}

// writeReport writes the report as JSON and text.
func writeReport(res *Result, rep *nemesis.Report) error {
	for path, write := range map[string]func(io.Writer) error{res.ReportPath: rep.EncodeJSON, res.TextPath: rep.WriteText} {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		if err := write(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("runner: %w", err)
		}
	}
	return nil
}

// saveStatus writes each member's /v1/status and /v1/anti-entropy to
// Dir/nodeI-status.json and Dir/nodeI-anti-entropy.json: the hints still
// queued, the transfers and exchanges, which explain a key that has not
// converged.
func (r *run) saveStatus(ctx context.Context, members []int) {
	for _, i := range members {
		for _, view := range []string{"status", "anti-entropy"} {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.nodeURL(i)+"/v1/"+view, nil)
			if err != nil {
				continue
			}
			resp, err := r.web.Do(req)
			if err != nil {
				r.logf("%s %s: %v", nodeName(i), view, err)
				continue
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			resp.Body.Close()
			_ = os.WriteFile(filepath.Join(r.cfg.Dir, nodeName(i)+"-"+view+".json"), b, 0o644)
		}
	}
}

// probeKeys bounds the keys one heal's probe reads: enough to catch a
// replica that missed the writes, few enough to read several times a
// second.
const probeKeys = 64

// probe measures one heal's convergence: the write-once keys whose puts
// were sent from a request timeout before the fault started until it
// healed, and had an answer by now (acknowledged or indeterminate: a
// coordinator that died before replicating leaves its write on one node
// only), read on every running node's own copy until each key's
// replicas agree, or ConvergeTimeout passes.
func (r *run) probe(ctx context.Context, ev inject.Event) *nemesis.HealConvergence {
	healed := r.start.Add(ev.Healed)
	from, to := int64(ev.Started-r.cfg.RequestTimeout), int64(ev.Healed)
	keys := r.writtenBetween(from, to)
	members := r.members(ctx)
	deadline := healed.Add(r.cfg.ConvergeTimeout)
	p := &nemesis.HealConvergence{Keys: len(keys)}
	told := false
	for {
		var first []nemesis.Copy
		keys, first = r.disagreeing(ctx, keys, members)
		if len(keys) == 0 {
			p.Converged = true
			break
		}
		// A key late to converge is named once, with where its copies
		// are, while it is late: which node lacks it says which
		// mechanism (hints, anti-entropy, handoff) is slow.
		if !told && time.Since(healed) > probeSlow {
			told = true
			r.logf("after the %s fault: %d of %d keys still disagree %v after the heal, %s: %s", ev.Kind, len(keys), p.Keys,
				probeSlow, keys[0], describeCopies(first))
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.logf("after the %s fault: %d of %d keys still disagree, %s: %s", ev.Kind, len(keys), p.Keys, keys[0],
				describeCopies(r.copies(ctx, keys[0], members)))
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(probePoll):
		}
	}
	p.Nanos = int64(time.Since(healed))
	return p
}

// probePoll is how often a probe reads the keys that still disagree.
const probePoll = 250 * time.Millisecond

// probeSlow is when a probe names a key that still disagrees.
const probeSlow = 10 * time.Second

// writtenBetween returns up to probeKeys write-once keys (evenly
// sampled) put by an operation invoked in [from, to] that has completed,
// acknowledged or indeterminate.
func (r *run) writtenBetween(from, to int64) []string {
	r.mu.Lock()
	var keys []string
	// Operations are appended as they complete, and one invoked at from
	// completed after it: the scan stops a request timeout earlier.
	stop := from - int64(r.cfg.RequestTimeout)
	for i := len(r.ops) - 1; i >= 0 && r.ops[i].Complete >= stop; i-- {
		op := &r.ops[i]
		if op.Workload == nemesis.WriteOnce && op.Kind == nemesis.Put && op.Outcome != nemesis.Fail &&
			op.Invoke >= from && op.Invoke <= to {
			keys = append(keys, op.Key)
		}
	}
	r.mu.Unlock()
	if len(keys) <= probeKeys {
		return keys
	}
	sample := make([]string, probeKeys)
	for i := range sample {
		sample[i] = keys[i*len(keys)/probeKeys]
	}
	return sample
}

// describeCopies says which node holds what of a key, for a log line:
// "node0 replica found a1b2c3d4, node2 replica missing".
func describeCopies(copies []nemesis.Copy) string {
	var parts []string
	for _, cp := range copies {
		role := "fallback"
		if cp.Replica {
			role = "replica"
		}
		state := "missing"
		if cp.Found {
			state = "found " + cp.Digest[:min(8, len(cp.Digest))]
		}
		parts = append(parts, cp.Node+" "+role+" "+state)
	}
	return strings.Join(parts, ", ")
}
