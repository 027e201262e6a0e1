package transport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/transport/pb"
)

// flight is one batch queued on, or written to, a peer's stream and not
// answered yet. It holds one in-flight slot of its lane until it is
// answered, fails or passes its deadline.
type flight struct {
	id       uint64
	k        kind
	batch    []*call
	deadline time.Time
	sent     time.Time // when it was written; zero before
}

// peerStream is the stream that carries the batches to one peer, served by
// two goroutines: recv opens the stream and then reads the replies, send
// writes the queued batches and fails those whose deadline passed. gRPC
// allows one sender and one receiver at a time on a stream: these are
// they.
type peerStream struct {
	node string
	pr   *peer

	// ctx ends the stream: cancelled when it breaks, stalls
	// (errStreamStalled) or Peers closes.
	ctx    context.Context
	cancel context.CancelCauseFunc
	kick   chan struct{} // buffered 1: batches to write, or a new deadline
	opened chan struct{} // closed by recv once stream is set
	stream pb.Internode_StreamClient

	// Guarded by Peers.mu.
	nextID  uint64
	pending map[uint64]*flight // queued or written, not answered
	out     []*flight          // queued, not written yet
}

// openStream starts a stream to node; its goroutines open it. p.mu must
// be held.
func (p *Peers) openStream(node string, pr *peer) *peerStream {
	ctx, cancel := context.WithCancelCause(p.ctx)
	s := &peerStream{node: node, pr: pr, ctx: ctx, cancel: cancel,
		kick: make(chan struct{}, 1), opened: make(chan struct{}),
		pending: make(map[uint64]*flight)}
	p.wg.Add(2)
	go p.streamRecv(s)
	go p.streamSend(s)
	return s
}

// queue adds batch to the batches to write. Peers.mu must be held.
func (s *peerStream) queue(k kind, batch []*call, deadline time.Time) {
	s.nextID++
	f := &flight{id: s.nextID, k: k, batch: batch, deadline: deadline}
	s.pending[f.id] = f
	s.out = append(s.out, f)
	select {
	case s.kick <- struct{}{}:
	default: // the sender is already due to look
	}
}

// dialStream opens the gRPC stream and waits for the receiver's headers,
// which it sends first: a peer that does not serve Stream answers with an
// error instead, and then no batch has been written to it.
func (p *Peers) dialStream(s *peerStream) (pb.Internode_StreamClient, error) {
	client, err := p.dial(s.node)
	if err != nil {
		return nil, err
	}
	stream, err := client.Stream(s.ctx)
	if err != nil {
		return nil, err
	}
	if md, _ := stream.Header(); md != nil {
		return stream, nil
	}
	// The stream ended before its headers; Recv tells why.
	if _, err := stream.Recv(); err != nil && err != io.EOF {
		return nil, err
	}
	return nil, status.Error(codes.Unavailable, "transport: stream ended before it started")
}

// streamRecv opens s and reads its replies until it breaks.
func (p *Peers) streamRecv(s *peerStream) {
	defer p.wg.Done()
	stream, err := p.dialStream(s)
	if err != nil {
		p.streamFailed(s, err, true)
		return
	}
	p.mu.Lock()
	s.pr.stats.Streams++
	p.mu.Unlock()
	s.stream = stream
	close(s.opened)
	for {
		r, err := stream.Recv()
		if err != nil {
			if err == io.EOF { // the receiver ended the stream without a status
				err = status.Error(codes.Unavailable, "transport: stream ended by the peer")
			}
			p.streamFailed(s, err, false)
			return
		}
		p.streamReply(s, r)
	}
}

// streamReply answers the calls of the batch r replies to, unless that
// batch has already failed (deadline) and is forgotten.
func (p *Peers) streamReply(s *peerStream, r *pb.PeerBatchReply) {
	p.mu.Lock()
	f := s.pending[r.GetId()]
	delete(s.pending, r.GetId())
	var sent time.Time
	if f != nil {
		sent = f.sent
	}
	p.mu.Unlock()
	if f == nil {
		return
	}
	st := batchStats(f.k, f.batch)
	answers, err := p.replyAnswers(s.node, f, sent, r)
	if err != nil {
		st.RPCErrors++
		st.ItemErrors += uint64(len(f.batch))
		answers = p.failAll(s.node, f.k, len(f.batch), err)
	} else {
		countItemErrors(&st, answers)
	}
	p.mu.Lock()
	p.answer(s.node, s.pr, f.k, f.batch, answers, st)
	p.mu.Unlock()
}

// replyAnswers reads r, the reply to f, as the unary RPC's reply or error.
func (p *Peers) replyAnswers(node string, f *flight, sent time.Time, r *pb.PeerBatchReply) ([]result, error) {
	if c := codes.Code(r.GetCode()); c != codes.OK {
		return nil, status.Error(c, r.GetMessage())
	}
	switch body := r.GetBody().(type) {
	case *pb.PeerBatchReply_Replicate:
		if f.k == kindReplicate {
			return p.replicateAnswers(node, f.batch, sent, body.Replicate)
		}
	case *pb.PeerBatchReply_Fetch:
		if f.k == kindFetch {
			return p.fetchAnswers(node, f.batch, sent, body.Fetch)
		}
	}
	return nil, fmt.Errorf("%w: a %T reply to a %s batch", ErrRemote, r.GetBody(), f.k)
}

// streamFailed ends s after err, which came while opening it or later: a
// peer that does not serve Stream (it answered the opening with
// Unimplemented) gets its batches as unary RPCs, for StreamRetry; any
// other failure fails every batch on s with ErrUnreachable (ErrClosed
// after Close). The next batch to the peer opens a new stream.
func (p *Peers) streamFailed(s *peerStream, err error, opening bool) {
	s.cancel(nil)
	if cause := context.Cause(s.ctx); errors.Is(cause, errStreamStalled) {
		err = cause // gRPC saw only the cancellation
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.pr.stream == s {
		s.pr.stream = nil
	}
	flights := make([]*flight, 0, len(s.pending))
	for _, f := range s.pending {
		flights = append(flights, f)
	}
	clear(s.pending)
	s.out = nil
	slices.SortFunc(flights, func(a, b *flight) int { return cmp.Compare(a.id, b.id) })
	if opening && status.Code(err) == codes.Unimplemented && p.ctx.Err() == nil {
		// Nothing was written (the peer sent no headers), so the
		// batches go again, unary, each keeping its slot.
		s.pr.unaryUntil = time.Now().Add(p.cfg.StreamRetry)
		for _, f := range flights {
			p.wg.Add(1)
			go p.run(s.node, s.pr, f.k, f.batch)
		}
		return
	}
	for _, f := range flights {
		p.failFlight(s, f, err)
	}
}

// failFlight fails every call of f with err, classified by failAll.
// p.mu must be held.
func (p *Peers) failFlight(s *peerStream, f *flight, err error) {
	st := batchStats(f.k, f.batch)
	st.RPCErrors++
	st.ItemErrors += uint64(len(f.batch))
	p.answer(s.node, s.pr, f.k, f.batch, p.failAll(s.node, f.k, len(f.batch), err), st)
}

// minStall is the shortest time a Send may block before the stream counts
// as stalled (see writeFlight).
const minStall = time.Second

var (
	// errBatchDeadline fails a batch whose deadline passed before its
	// reply came; as for a unary RPC, its status is DeadlineExceeded.
	errBatchDeadline = status.Error(codes.DeadlineExceeded, "transport: batch deadline passed on the stream")
	// errStreamStalled ends a stream on which a batch could not even be
	// written before its deadline: the peer stopped reading.
	errStreamStalled = status.Error(codes.DeadlineExceeded, "transport: stream stalled: the peer stopped reading")
)

// streamSend writes the batches queued on s once it is open, and fails
// the batches whose deadline passes before their reply comes, so that a
// silent peer does not hold the lanes' slots. It returns when s ends.
func (p *Peers) streamSend(s *peerStream) {
	defer p.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	opened := s.opened
	var stream pb.Internode_StreamClient
	for {
		out, next := p.streamDue(s, stream != nil)
		for _, f := range out {
			if err := p.writeFlight(s, stream, f); err != nil {
				return // broken: recv learns why from Recv and fails every batch
			}
		}
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-s.kick:
		case <-opened:
			stream, opened = s.stream, nil
		case <-timer.C:
		case <-s.ctx.Done():
			return
		}
	}
}

// streamDue fails the flights of s whose deadline has passed and returns
// the ones to write now (when open), stamped as sent, and the next
// deadline to watch (zero if none).
func (p *Peers) streamDue(s *peerStream, open bool) (out []*flight, next time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for id, f := range s.pending {
		if !f.deadline.After(now) {
			delete(s.pending, id)
			p.failFlight(s, f, errBatchDeadline)
			continue
		}
		if next.IsZero() || f.deadline.Before(next) {
			next = f.deadline
		}
	}
	if !open {
		return nil, next
	}
	for _, f := range s.out {
		if s.pending[f.id] == f { // not failed meanwhile
			f.sent = now
			out = append(out, f)
		}
	}
	clear(s.out)
	s.out = s.out[:0]
	return out, next
}

// writeFlight sends f on stream. An error means the stream is broken
// (gRPC ends a client stream on any error of SendMsg, a message over the
// size limit included), and recv learns why from Recv.
//
// Send blocks while HTTP/2 flow control holds it, and meanwhile no batch
// of s expires; so a Send still blocked at f's deadline (minStall at
// least, so that a Send merely slow to be scheduled does not count) ends
// the stream, failing its batches as their RPCs would have failed, rather
// than hold the lanes' slots until keepalive finds the connection dead.
// The timer runs only the cancel, as context.WithDeadline's does.
func (p *Peers) writeFlight(s *peerStream, stream pb.Internode_StreamClient, f *flight) error {
	left := time.Until(f.deadline)
	if left <= 0 {
		return nil // not sent: streamDue fails it next
	}
	msg := &pb.PeerBatch{Id: f.id, TimeoutNanos: int64(left)}
	if f.k == kindReplicate {
		items := make([]*pb.ReplicateItem, len(f.batch))
		for i, c := range f.batch {
			items[i] = c.repl
		}
		msg.Body = &pb.PeerBatch_Replicate{Replicate: &pb.ReplicateBatch{From: p.self, Items: items}}
	} else {
		items := make([]*pb.FetchItem, len(f.batch))
		for i, c := range f.batch {
			items[i] = c.fetch
		}
		msg.Body = &pb.PeerBatch_Fetch{Fetch: &pb.FetchBatch{From: p.self, Items: items}}
	}
	stall := time.AfterFunc(max(left, minStall), func() { s.cancel(errStreamStalled) })
	defer stall.Stop()
	return stream.Send(msg)
}
