package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// Dialer resolves a node ID to a client of that node's Internode service.
// In production it is Pool.Dialer over the gossip addresses; tests may
// return anything that implements pb.InternodeClient. It is called each
// time Peers opens a stream to the node and for each unary RPC, from
// Peers' goroutines, so it must be safe for concurrent use and should be
// cheap (a map lookup, not a handshake).
type Dialer func(node string) (pb.InternodeClient, error)

// PeersConfig tunes Peers. A zero field takes its default from
// DefaultPeersConfig.
type PeersConfig struct {
	// MaxInFlight bounds the batches in flight (sent and not answered)
	// per peer and per kind (Replicate, Fetch). Calls made while all are
	// busy queue and leave in the next batch, so batches grow with load.
	// Default 4.
	MaxInFlight int
	// MaxBatch bounds the items of one batch. Default 256.
	MaxBatch int
	// MaxBatchBytes bounds the estimated payload of one batch in bytes; a
	// single item larger than this still goes, alone. Default 4 MiB.
	MaxBatchBytes int
	// CallTimeout caps a batch's deadline, which is otherwise the latest
	// deadline among its items. Default 5 s.
	CallTimeout time.Duration
	// Unary sends every batch as a unary Replicate or Fetch RPC of its
	// own instead of on the peer's stream (Internode.Stream). It is for
	// comparison: Peers falls back to unary RPCs by itself for a peer that
	// does not serve Stream. Default false.
	Unary bool
	// StreamRetry is how long Peers sends unary RPCs to a peer that
	// answered Stream with codes.Unimplemented (a node of an earlier
	// version) before it tries a stream again. Default 1 min.
	StreamRetry time.Duration
	// OnLegs, when set, is called after every answered Replicate or Fetch
	// RPC with its one-way delays (see Legs), from the goroutine that sent
	// it; it must be quick and safe for concurrent use.
	OnLegs func(Legs)
}

// Legs are the one-way delays of one answered batch, or of one write in
// it when the receiver stamps each, split at the time
// the receiver stamped on its answer: Out from sending the request to the
// receiver having applied (or read) it, Back from then to the answer's
// arrival. They are what the staleness model (WARS: write, ack,
// read, response) takes, and are meaningful only where the two clocks
// agree, as on one machine; a negative leg (clock skew) is reported as 0.
type Legs struct {
	Node  string
	Fetch bool // a Fetch (read) batch; false for Replicate (write)
	Out   time.Duration
	Back  time.Duration
}

// DefaultPeersConfig returns the defaults described on PeersConfig.
func DefaultPeersConfig() PeersConfig {
	return PeersConfig{
		MaxInFlight:   4,
		MaxBatch:      256,
		MaxBatchBytes: 4 << 20,
		CallTimeout:   5 * time.Second,
		StreamRetry:   time.Minute,
	}
}

func (c PeersConfig) withDefaults() PeersConfig {
	d := DefaultPeersConfig()
	setDefault(&c.MaxInFlight, d.MaxInFlight)
	setDefault(&c.MaxBatch, d.MaxBatch)
	setDefault(&c.MaxBatchBytes, d.MaxBatchBytes)
	setDefault(&c.CallTimeout, d.CallTimeout)
	setDefault(&c.StreamRetry, d.StreamRetry)
	return c
}

// Validate reports a field that is out of range. Zero fields are valid:
// they mean the default.
func (c PeersConfig) Validate() error {
	return errors.Join(
		nonNegative("MaxInFlight", c.MaxInFlight),
		nonNegative("MaxBatch", c.MaxBatch),
		nonNegative("MaxBatchBytes", c.MaxBatchBytes),
		nonNegative("CallTimeout", c.CallTimeout),
		nonNegative("StreamRetry", c.StreamRetry),
	)
}

// PeerStats counts one peer's traffic (or, in Stats.Total, everybody's).
type PeerStats struct {
	ReplicateBatches uint64 // Replicate batches sent (on the stream or as RPCs)
	ReplicateItems   uint64 // items in them
	FetchBatches     uint64 // Fetch batches sent
	FetchItems       uint64 // items in them, digest items included
	DigestItems      uint64 // FetchDigest items among FetchItems
	// RPCErrors counts batches that failed as a whole (dial errors, broken
	// streams and passed deadlines included).
	RPCErrors uint64
	// Streams counts the streams opened (a peer that does not serve
	// Stream opens none).
	Streams uint64
	// ItemErrors counts items that failed, whatever the cause. A Fetch
	// answered with an *IncompleteError did not fail: it is not counted.
	ItemErrors uint64
	// Skipped counts calls dropped before sending because their context
	// had ended.
	Skipped uint64
	// Queued is the number of calls waiting for a batch right now.
	Queued int
}

func (s *PeerStats) add(o PeerStats) {
	s.ReplicateBatches += o.ReplicateBatches
	s.ReplicateItems += o.ReplicateItems
	s.FetchBatches += o.FetchBatches
	s.FetchItems += o.FetchItems
	s.DigestItems += o.DigestItems
	s.RPCErrors += o.RPCErrors
	s.Streams += o.Streams
	s.ItemErrors += o.ItemErrors
	s.Skipped += o.Skipped
	s.Queued += o.Queued
}

// Stats is a snapshot of Peers' counters.
type Stats struct {
	Total PeerStats
	Peers map[string]PeerStats
}

type kind uint8

const (
	kindReplicate kind = iota
	kindFetch
	numKinds
)

func (k kind) String() string {
	if k == kindFetch {
		return "fetch"
	}
	return "replicate"
}

// call is one queued Replicate or Fetch.
type call struct {
	ctx   context.Context
	size  int               // estimated bytes on the wire
	repl  *pb.ReplicateItem // when kindReplicate
	fetch *pb.FetchItem     // when kindFetch
	done  chan result       // buffered 1: answering never blocks, even if the caller left
}

type result struct {
	set    []byte // Fetch: the encoded set
	digest uint64 // Fetch of a digest (FetchDigest): the set's digest
	err    error
	// partial marks a Fetch answer from a node still receiving the
	// partition: set is valid and err is an *IncompleteError.
	partial bool
}

// lane is the queue of one kind of call to one peer.
type lane struct {
	queue    []*call
	inFlight int
}

type peer struct {
	lanes [numKinds]lane
	stats PeerStats
	// stream carries the batches to the peer; nil until the next batch
	// opens one.
	stream *peerStream
	// unaryUntil is when to try a stream again, after the peer answered
	// Stream with codes.Unimplemented; until then batches go as unary
	// RPCs.
	unaryUntil time.Time
}

// Peers sends Replicate and Fetch calls to other nodes, batching the calls
// to each node: while MaxInFlight batches of a kind to a node are out, new
// calls queue, and each answered batch takes the queue (up to MaxBatch
// items and MaxBatchBytes) as its next batch. An idle system therefore
// sends every call at once, and a loaded one sends few, large messages.
// The batches to a node travel on one long-lived stream (Internode.Stream),
// or as unary RPCs to a node that does not serve it. Peers is safe for
// concurrent use; its methods satisfy replica.Transport.
type Peers struct {
	self string
	dial Dialer
	cfg  PeersConfig

	// ctx is the parent of every RPC's context; Close cancels it so that
	// in-flight RPCs end at once.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // unary batch goroutines, two per stream

	mu     sync.Mutex
	closed bool
	peers  map[string]*peer
}

// NewPeers returns Peers that sends as node self and reaches other nodes
// through dial.
func NewPeers(self string, dial Dialer, cfg PeersConfig) (*Peers, error) {
	if dial == nil {
		return nil, errors.New("transport: peers: nil Dialer")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("transport: peers config: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Peers{
		self:   self,
		dial:   dial,
		cfg:    cfg.withDefaults(),
		ctx:    ctx,
		cancel: cancel,
		peers:  make(map[string]*peer),
	}, nil
}

// Replicate asks node to merge set into its copy of key, in a batch with
// other calls to node. It returns nil once node acknowledged the item, an
// error wrapping ErrRemote if node reported a failure for it, one wrapping
// ErrUnreachable if the RPC failed, ErrClosed after Close, or the wrapped
// ctx.Err() as soon as ctx ends.
func (p *Peers) Replicate(ctx context.Context, node string, partition uint32, key []byte, set vclock.Set, durable bool, hintFor string) error {
	item := &pb.ReplicateItem{
		Partition: partition,
		Key:       bytes.Clone(key), // the RPC may outlive a caller that gave up
		Set:       set.Encode(),     // here, so that callers encode in parallel
		Durable:   durable,
		HintFor:   hintFor,
	}
	c := &call{ctx: ctx, repl: item, size: len(key) + len(item.Set) + len(hintFor) + 16}
	return p.do(node, kindReplicate, c).err
}

// Fetch returns node's sibling set of key, fetched in a batch with other
// calls to node. A node without the key returns an empty set and nil.
// Errors are as for Replicate; an undecodable set wraps ErrRemote.
//
// A node that owns the partition but is still receiving its data from the
// previous owner answers with its set and an *IncompleteError: the set is
// valid but may lack writes, so a read must not count it toward R.
func (p *Peers) Fetch(ctx context.Context, node string, partition uint32, key []byte) (vclock.Set, error) {
	c := &call{ctx: ctx, fetch: &pb.FetchItem{Partition: partition, Key: bytes.Clone(key)}, size: len(key) + 8}
	r := p.do(node, kindFetch, c)
	if (r.err != nil && !r.partial) || len(r.set) == 0 {
		return vclock.Set{}, r.err
	}
	set, err := vclock.Decode(r.set)
	if err != nil {
		return vclock.Set{}, fmt.Errorf("transport: fetch from %s: %w: %w", node, ErrRemote, err)
	}
	return set, r.err
}

// FetchDigest returns the digest of node's sibling set of key
// (vclock.Set.Digest; 0 when node has none), fetched in the same batches
// as Fetch calls: a digest read, which costs node no decoding and the
// network eight bytes instead of the set. Errors are as for Fetch; a node
// still receiving the partition answers its digest with an
// *IncompleteError.
func (p *Peers) FetchDigest(ctx context.Context, node string, partition uint32, key []byte) (uint64, error) {
	c := &call{ctx: ctx, fetch: &pb.FetchItem{Partition: partition, Key: bytes.Clone(key), DigestOnly: true}, size: len(key) + 10}
	r := p.do(node, kindFetch, c)
	if r.err != nil && !r.partial {
		return 0, r.err
	}
	if len(r.set) > 0 {
		// A node that predates digest reads ignores digest_only and
		// sends its set: its digest must not read as 0, an absent key.
		return vclock.DigestEncoded(r.set), r.err
	}
	return r.digest, r.err
}

// do queues c, starts a batch if a slot is free and waits for the answer
// or the end of c.ctx.
func (p *Peers) do(node string, k kind, c *call) result {
	if err := c.ctx.Err(); err != nil {
		return result{err: fmt.Errorf("transport: %s to %s: %w", k, node, err)}
	}
	c.done = make(chan result, 1)

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return result{err: ErrClosed}
	}
	pr := p.peers[node]
	if pr == nil {
		pr = &peer{}
		p.peers[node] = pr
	}
	l := &pr.lanes[k]
	l.queue = append(l.queue, c)
	if l.inFlight < p.cfg.MaxInFlight {
		if batch := p.takeBatch(node, pr, k); len(batch) > 0 {
			l.inFlight++
			p.dispatch(node, pr, k, batch)
		}
	}
	p.mu.Unlock()

	select {
	case r := <-c.done:
		// A partial answer is an answer, not a failure the deadline
		// could explain.
		if r.err != nil && !r.partial {
			if err := contextErr(c.ctx); err != nil {
				// The RPC had the caller's deadline and its timer fired
				// first: report the caller's own reason.
				return result{err: fmt.Errorf("transport: %s to %s: %w (%v)", k, node, err, r.err)}
			}
		}
		return r
	case <-c.ctx.Done():
		// The answer, when it comes, goes into the buffered done channel
		// and is dropped with it.
		return result{err: fmt.Errorf("transport: %s to %s: %w", k, node, c.ctx.Err())}
	}
}

// contextErr is ctx.Err(), or DeadlineExceeded if ctx's deadline has
// passed but its timer has not fired yet.
func contextErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// takeBatch removes the next batch from the lane's queue, answering calls
// whose context has ended instead of sending them. p.mu must be held.
func (p *Peers) takeBatch(node string, pr *peer, k kind) []*call {
	l := &pr.lanes[k]
	var batch []*call
	size, i := 0, 0
	for ; i < len(l.queue); i++ {
		c := l.queue[i]
		if err := c.ctx.Err(); err != nil {
			c.done <- result{err: fmt.Errorf("transport: %s to %s: %w", k, node, err)}
			pr.stats.Skipped++
			continue
		}
		if len(batch) == p.cfg.MaxBatch || (len(batch) > 0 && size+c.size > p.cfg.MaxBatchBytes) {
			break
		}
		batch = append(batch, c)
		size += c.size
	}
	if i == len(l.queue) {
		clear(l.queue)
		l.queue = l.queue[:0]
	} else {
		n := copy(l.queue, l.queue[i:])
		clear(l.queue[n:])
		l.queue = l.queue[:n]
	}
	return batch
}

// dispatch sends batch, which holds one of the lane's in-flight slots: on
// the peer's stream (opening one if there is none), or as a unary RPC from
// a goroutine of its own. A single item over MaxBatchBytes goes unary too:
// a message over gRPC's size limit breaks a stream, failing every batch on
// it, but fails a unary RPC alone. p.mu must be held.
func (p *Peers) dispatch(node string, pr *peer, k kind, batch []*call) {
	oversized := len(batch) == 1 && batch[0].size > p.cfg.MaxBatchBytes
	if p.cfg.Unary || oversized || time.Now().Before(pr.unaryUntil) {
		p.wg.Add(1)
		go p.run(node, pr, k, batch)
		return
	}
	if pr.stream == nil {
		pr.stream = p.openStream(node, pr)
	}
	pr.stream.queue(k, batch, p.batchDeadline(batch))
}

// answer counts st, gives each call of batch its answer and frees the
// batch's slot for the next batch. Stats are updated before the answers
// go out, so a caller that got its answer sees its call counted. p.mu
// must be held.
func (p *Peers) answer(node string, pr *peer, k kind, batch []*call, answers []result, st PeerStats) {
	pr.stats.add(st)
	for i, c := range batch {
		c.done <- answers[i] // never blocks: buffered, one answer per call
	}
	p.next(node, pr, k)
}

// next hands a freed in-flight slot of the lane to whatever queued
// meanwhile, or releases it when the queue is empty or Peers is closed.
// p.mu must be held.
func (p *Peers) next(node string, pr *peer, k kind) {
	var batch []*call
	if !p.closed {
		batch = p.takeBatch(node, pr, k)
	}
	if len(batch) == 0 {
		pr.lanes[k].inFlight--
		return
	}
	p.dispatch(node, pr, k, batch)
}

// run sends batch as one unary RPC and answers its calls.
func (p *Peers) run(node string, pr *peer, k kind, batch []*call) {
	defer p.wg.Done()
	answers, st := p.send(node, k, batch)
	p.mu.Lock()
	p.answer(node, pr, k, batch, answers, st)
	p.mu.Unlock()
}

// batchStats returns the counters of one batch of kind k.
func batchStats(k kind, batch []*call) PeerStats {
	var st PeerStats
	if k == kindReplicate {
		st.ReplicateBatches, st.ReplicateItems = 1, uint64(len(batch))
		return st
	}
	st.FetchBatches, st.FetchItems = 1, uint64(len(batch))
	for _, c := range batch {
		if c.fetch.GetDigestOnly() {
			st.DigestItems++
		}
	}
	return st
}

// countItemErrors adds the failed items among answers to st.
func countItemErrors(st *PeerStats, answers []result) {
	for _, a := range answers {
		if a.err != nil && !a.partial {
			st.ItemErrors++
		}
	}
}

// send makes one RPC for batch and returns the answer to each call in it,
// in order, and the counters to add to the peer's stats.
func (p *Peers) send(node string, k kind, batch []*call) ([]result, PeerStats) {
	st := batchStats(k, batch)
	ctx, cancel := context.WithDeadline(p.ctx, p.batchDeadline(batch))
	defer cancel()

	var answers []result
	client, err := p.dial(node)
	if err == nil {
		if k == kindReplicate {
			answers, err = p.sendReplicate(ctx, client, node, batch)
		} else {
			answers, err = p.sendFetch(ctx, client, node, batch)
		}
	}
	if err != nil {
		st.RPCErrors++
		st.ItemErrors += uint64(len(batch))
		return p.failAll(node, k, len(batch), err), st
	}
	countItemErrors(&st, answers)
	return answers, st
}

func (p *Peers) sendReplicate(ctx context.Context, client pb.InternodeClient, node string, batch []*call) ([]result, error) {
	items := make([]*pb.ReplicateItem, len(batch))
	for i, c := range batch {
		items[i] = c.repl
	}
	sent := time.Now()
	acks, err := client.Replicate(ctx, &pb.ReplicateBatch{From: p.self, Items: items})
	if err != nil {
		return nil, err
	}
	return p.replicateAnswers(node, batch, sent, acks)
}

// replicateAnswers reads acks, the reply to batch sent at sent.
func (p *Peers) replicateAnswers(node string, batch []*call, sent time.Time, acks *pb.ReplicateAcks) ([]result, error) {
	if per := acks.GetVisibleUnixNanos(); len(per) == len(batch) {
		for _, at := range per {
			p.noteLegs(node, false, sent, at)
		}
	} else {
		p.noteLegs(node, false, sent, acks.GetAtUnixNano())
	}
	if n := len(acks.GetErrors()); n != len(batch) {
		return nil, fmt.Errorf("%w: %d acks for %d items", ErrRemote, n, len(batch))
	}
	answers := make([]result, len(batch))
	for i, msg := range acks.GetErrors() {
		if msg != "" {
			answers[i].err = fmt.Errorf("transport: replicate to %s: %w: %s", node, ErrRemote, msg)
		}
	}
	return answers, nil
}

func (p *Peers) sendFetch(ctx context.Context, client pb.InternodeClient, node string, batch []*call) ([]result, error) {
	items := make([]*pb.FetchItem, len(batch))
	for i, c := range batch {
		items[i] = c.fetch
	}
	sent := time.Now()
	replies, err := client.Fetch(ctx, &pb.FetchBatch{From: p.self, Items: items})
	if err != nil {
		return nil, err
	}
	return p.fetchAnswers(node, batch, sent, replies)
}

// fetchAnswers reads replies, the reply to batch sent at sent.
func (p *Peers) fetchAnswers(node string, batch []*call, sent time.Time, replies *pb.FetchReplies) ([]result, error) {
	p.noteLegs(node, true, sent, replies.GetAtUnixNano())
	if n := len(replies.GetReplies()); n != len(batch) {
		return nil, fmt.Errorf("%w: %d replies for %d items", ErrRemote, n, len(batch))
	}
	answers := make([]result, len(batch))
	for i, r := range replies.GetReplies() {
		switch {
		case r.GetError() != "":
			answers[i].err = fmt.Errorf("transport: fetch from %s: %w: %s", node, ErrRemote, r.GetError())
		case r.GetIncomplete():
			answers[i] = result{set: r.GetSet(), digest: r.GetDigest(), err: &IncompleteError{Node: node}, partial: true}
		default:
			answers[i] = result{set: r.GetSet(), digest: r.GetDigest()}
		}
	}
	return answers, nil
}

// noteLegs reports the legs of a batch sent at sent and stamped at
// (Unix nanoseconds; 0 from a receiver that does not stamp) to OnLegs.
func (p *Peers) noteLegs(node string, fetch bool, sent time.Time, at int64) {
	if p.cfg.OnLegs == nil || at == 0 {
		return
	}
	now := time.Now()
	stamp := time.Unix(0, at)
	p.cfg.OnLegs(Legs{Node: node, Fetch: fetch,
		Out: max(stamp.Sub(sent), 0), Back: max(now.Sub(stamp), 0)})
}

// failAll returns n answers carrying err, classified: a malformed reply or
// a dial failure (already wrapping ErrRemote or ErrUnreachable) stays so, a
// failure caused by Close wraps ErrClosed, anything else wraps
// ErrUnreachable.
func (p *Peers) failAll(node string, k kind, n int, err error) []result {
	switch {
	case errors.Is(err, ErrRemote), errors.Is(err, ErrUnreachable):
		err = fmt.Errorf("transport: %s to %s: %w", k, node, err)
	case p.ctx.Err() != nil:
		err = fmt.Errorf("transport: %s to %s: %w: %w", k, node, ErrClosed, err)
	default:
		err = fmt.Errorf("transport: %s to %s: %w: %w", k, node, ErrUnreachable, err)
	}
	answers := make([]result, n)
	for i := range answers {
		answers[i].err = err
	}
	return answers
}

// batchDeadline returns the deadline of batch: the latest among the
// items' (an item without one counts as CallTimeout), capped at
// CallTimeout from now.
func (p *Peers) batchDeadline(batch []*call) time.Time {
	limit := time.Now().Add(p.cfg.CallTimeout)
	var latest time.Time
	for _, c := range batch {
		d, ok := c.ctx.Deadline()
		if !ok || d.After(limit) {
			latest = limit
			break
		}
		if d.After(latest) {
			latest = d
		}
	}
	return latest
}

// Stats returns a snapshot of the counters, per peer and in total.
func (p *Peers) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Peers: make(map[string]PeerStats, len(p.peers))}
	for node, pr := range p.peers {
		ps := pr.stats
		for k := range pr.lanes {
			ps.Queued += len(pr.lanes[k].queue)
		}
		s.Peers[node] = ps
		s.Total.add(ps)
	}
	return s
}

// Close fails every queued call with ErrClosed, cancels the RPCs in flight
// (their calls fail with ErrClosed too) and waits for every goroutine of
// Peers to return. Later calls return ErrClosed. Close is idempotent.
func (p *Peers) Close() error {
	p.mu.Lock()
	p.closed = true
	var queued []*call
	for _, pr := range p.peers {
		for k := range pr.lanes {
			queued = append(queued, pr.lanes[k].queue...)
			pr.lanes[k].queue = nil
		}
	}
	p.mu.Unlock()
	for _, c := range queued {
		c.done <- result{err: ErrClosed}
	}
	p.cancel()
	p.wg.Wait()
	return nil
}
