package replica

import (
	"context"

	"github.com/chorusdb/chorus/vclock"
)

// digestRead is the part of one read that uses digests
// (ReadRepairDigest). One replica, the data replica, is asked for its set;
// the others for the digest of theirs (vclock.Set.Digest). A digest reply
// is used once it matches the digest of a set the read holds: it then
// stands for a reply with that set, counted exactly as a full reply would
// be. A digest that matches no set held is a mismatch: that replica is
// asked for its set, and the full reply counts in place of the digest.
// Every replica is counted once, by its digest or by its set, never both.
//
// A partial digest reply (the replica is still receiving the partition)
// never counts. When it matches a set held, it stands for a partial reply
// with that set; otherwise its set is fetched at once, without waiting,
// and that partial reply is merged before a standby or spare is asked in
// its place: so, as with full reads, a partial replica's siblings are in
// the answer whenever the replica that completes the quorum is.
//
// A digest waits while a full read is in flight, since the set it brings
// may match it (a stale data replica and two up-to-date replicas cost one
// full read, not two). Once no full read is out, or the fallback wait
// has passed (the data replica may be silent), an unmatched digest is
// replaced by a full read at once: so a read whose data replica failed
// still ends with data, from the replicas that sent digests.
//
// The empty set is always held (digest 0): replicas that do not have the
// key need not send anything more.
//
// Until the read is answered, digestRead runs on the request's goroutine;
// afterwards (flush, late) on the read repair's.
type digestRead struct {
	q         *request
	merge     *ReadMerge
	df        DigestFetcher
	partition uint32
	key       []byte
	// data is the replica asked for its set from the start.
	data string
	// known maps the digests of the sets received to the sets.
	known map[uint64]vclock.Set
	// pending holds digest replies, complete or partial, that match no
	// known set yet, in arrival order.
	pending []reply
	// full holds the nodes whose full read is in flight.
	full map[string]bool
	// eager stops digests from waiting for full reads: set once the
	// fallback wait has passed.
	eager bool
}

func newDigestRead(q *request, merge *ReadMerge, df DigestFetcher, partition uint32, key []byte, data string) *digestRead {
	return &digestRead{q: q, merge: merge, df: df, partition: partition, key: key, data: data,
		known: map[uint64]vclock.Set{0: {}}, full: make(map[string]bool)}
}

// dataReplica picks the replica a digest read asks for the set: this node
// when it is a target (its copy is read inline, without a message), else
// the first target, a primary when one is up.
func dataReplica(pl *plan, self string) string {
	if _, ok := pl.find(self); ok {
		return self
	}
	if len(pl.targets) == 0 {
		return ""
	}
	return pl.targets[0].node
}

// call starts t's share of the read (request.call): a full read for the
// data replica and for this node (a local read costs less than comparing
// digests), a digest read for everyone else.
func (d *digestRead) call(t target) {
	c := d.q.c
	if t.node == d.data || t.node == c.cfg.Self {
		d.fetchFull(t)
		return
	}
	c.stats.digestReads.Add(1)
	d.q.f.launchDigest(t, func(ctx context.Context) (uint64, error) {
		return d.df.FetchDigest(ctx, t.node, d.partition, d.key)
	})
}

// fetchFull starts a full read of t.
func (d *digestRead) fetchFull(t target) {
	d.full[t.node] = true
	d.q.f.launch(t, func(ctx context.Context) (vclock.Set, error) {
		return d.q.c.fetch(ctx, t, d.partition, d.key)
	})
}

// route takes one reply while the read is pending (request.route).
func (d *digestRead) route(rep reply) {
	switch {
	case !rep.isDigest:
		delete(d.full, rep.t.node)
		if rep.err == nil || isPartial(rep.err) {
			d.known[rep.set.Digest()] = rep.set
		}
		d.q.answer(rep)
	case rep.err == nil:
		d.pending = append(d.pending, rep)
	case !isPartial(rep.err):
		d.q.answer(rep) // a failed digest read fails as a failed fetch does
		return
	default:
		if set, ok := d.known[rep.digest]; ok {
			d.q.answer(reply{t: rep.t, set: set, err: rep.err})
		} else {
			d.mismatch(rep.t)
			d.q.waiting[rep.t.node] = rep.t
		}
	}
	d.settle()
}

// silence is request.onSilence: the data replica may never answer, so
// digests stop waiting for it.
func (d *digestRead) silence() {
	d.eager = true
	d.settle()
}

// settle answers the pending digests that match a known set, and turns
// those that cannot wait any longer into full reads, until the read is
// decided; what is left goes to flush.
func (d *digestRead) settle() {
	waiting := d.pending
	d.pending = nil
	for i, rep := range waiting {
		if d.q.tally.Outcome() != Pending {
			d.pending = append(d.pending, waiting[i:]...)
			return
		}
		set, ok := d.known[rep.digest]
		switch {
		case ok:
			d.q.answer(reply{t: rep.t, set: set})
		case len(d.full) > 0 && !d.eager:
			d.pending = append(d.pending, rep)
		default:
			d.mismatch(rep.t)
			d.q.waiting[rep.t.node] = rep.t
		}
	}
}

// mismatch replaces t's digest by a full read.
func (d *digestRead) mismatch(t target) {
	d.q.c.stats.digestMismatches.Add(1)
	d.fetchFull(t)
}

// flush starts the read repair's part (see repairLater): it merges the
// pending digests that match a known set and asks the others for their
// sets. It returns how many more replies to wait for.
func (d *digestRead) flush() (launched int) {
	for _, rep := range d.pending {
		launched += d.late(rep)
	}
	d.pending = nil
	return launched
}

// late takes a reply that came after the read was answered, for read
// repair: its set, or the known set its digest matches, joins the merge;
// a digest that matches none is replaced by a full read, so that repair
// learns that replica's siblings (as a read of every set would) and
// sends it what it lacks. It returns how many more replies to wait for.
func (d *digestRead) late(rep reply) (launched int) {
	if rep.err != nil && !isPartial(rep.err) {
		return 0
	}
	set, ok := rep.set, true
	if rep.isDigest {
		set, ok = d.known[rep.digest]
	} else {
		d.known[set.Digest()] = set
	}
	if !ok {
		d.mismatch(rep.t)
		return 1
	}
	if rep.err != nil {
		d.q.c.stats.partialReplies.Add(1)
	}
	d.merge.Add(rep.t.node, set)
	return 0
}
