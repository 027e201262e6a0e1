package transport

import (
	"context"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/transport/pb"
)

// internodeService is the Internode service a Server registers: the
// node's own handlers, with Stream served by the Server on top of their
// Replicate and Fetch.
type internodeService struct {
	pb.InternodeServer
	streams *streamHandler
}

// Stream serves one sender's batches; see streamHandler.
func (s internodeService) Stream(ss pb.Internode_StreamServer) error {
	return s.streams.serve(ss, s.InternodeServer)
}

// streamHandler serves Internode.Stream for a Server. Each stream gets a
// receive goroutine, which reads batches and starts a goroutine per batch
// (at most inFlight per kind at once, so a slow Fetch does not hold back
// Replicates), while the gRPC handler goroutine sends the replies, in the
// order they are ready.
type streamHandler struct {
	inFlight int
	// quit is closed by Server.Close: every stream stops reading,
	// answers the batches it has and ends, so that GracefulStop, which
	// waits for handlers, returns.
	quit chan struct{}
	// wg counts the receive and batch goroutines, which may outlive
	// their stream's handler by a moment; Server.Close waits for them.
	wg sync.WaitGroup
}

// serverStream is the state of one stream being served.
type serverStream struct {
	h       *streamHandler
	in      pb.InternodeServer
	ss      pb.Internode_StreamServer
	slots   [numKinds]chan struct{} // a token per batch being handled
	replies chan streamReply        // room for every slot: handlers never block
	ended   chan error              // the receive loop's end; buffered 1

	mu      sync.Mutex
	running int  // batches started whose reply has not been taken
	stopped bool // no more batches start
}

type streamReply struct {
	k     kind
	reply *pb.PeerBatchReply
}

// errServerClosing ends the streams of a Server that is closing.
var errServerClosing = status.Error(codes.Unavailable, "transport: server closing")

func (h *streamHandler) serve(ss pb.Internode_StreamServer, in pb.InternodeServer) error {
	// Headers first: they tell the sender that this node serves Stream
	// before it writes a batch (see Peers.dialStream).
	if err := ss.SendHeader(nil); err != nil {
		return err
	}
	s := &serverStream{h: h, in: in, ss: ss,
		replies: make(chan streamReply, int(numKinds)*h.inFlight), ended: make(chan error, 1)}
	for k := range s.slots {
		s.slots[k] = make(chan struct{}, h.inFlight)
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s.ended <- s.receive()
	}()
	for {
		select {
		case r := <-s.replies:
			s.took(r)
			if err := ss.Send(r.reply); err != nil {
				s.drain(false)
				return err
			}
		case err := <-s.ended:
			s.drain(true)
			if err == io.EOF { // the sender closed its side: done
				return nil
			}
			return err
		case <-h.quit:
			s.drain(true)
			return errServerClosing
		}
	}
}

// receive reads batches and starts a goroutine for each, once a slot of
// its kind is free, until the stream ends or stops.
func (s *serverStream) receive() error {
	ctx := s.ss.Context()
	for {
		b, err := s.ss.Recv()
		if err != nil {
			return err
		}
		k := kindReplicate
		if b.GetFetch() != nil {
			k = kindFetch
		}
		select {
		case s.slots[k] <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !s.start() {
			<-s.slots[k]
			return nil
		}
		s.h.wg.Add(1)
		go func() {
			defer s.h.wg.Done()
			s.replies <- streamReply{k: k, reply: s.handle(ctx, b)}
		}()
	}
}

// start counts a batch about to start, unless the stream has stopped.
func (s *serverStream) start() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.running++
	return true
}

// took frees the slot of a reply taken from s.replies.
func (s *serverStream) took(r streamReply) {
	s.mu.Lock()
	s.running--
	s.mu.Unlock()
	<-s.slots[r.k]
}

// drain stops new batches and waits for the replies of the running ones,
// sending them while send is true and sending works.
func (s *serverStream) drain(send bool) {
	s.mu.Lock()
	s.stopped = true
	n := s.running
	s.mu.Unlock()
	for range n {
		r := <-s.replies
		s.took(r)
		if send && s.ss.Send(r.reply) != nil {
			send = false
		}
	}
}

// handle runs one batch through the node's unary handler, under the
// deadline the sender gave it, and returns the reply.
func (s *serverStream) handle(ctx context.Context, b *pb.PeerBatch) *pb.PeerBatchReply {
	if t := b.GetTimeoutNanos(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(t))
		defer cancel()
	}
	out := &pb.PeerBatchReply{Id: b.GetId()}
	var err error
	switch {
	case b.GetReplicate() != nil:
		var acks *pb.ReplicateAcks
		if acks, err = s.in.Replicate(ctx, b.GetReplicate()); err == nil && acks != nil {
			out.Body = &pb.PeerBatchReply_Replicate{Replicate: acks}
		}
	case b.GetFetch() != nil:
		var replies *pb.FetchReplies
		if replies, err = s.in.Fetch(ctx, b.GetFetch()); err == nil && replies != nil {
			out.Body = &pb.PeerBatchReply_Fetch{Fetch: replies}
		}
	default:
		err = status.Error(codes.InvalidArgument, "transport: stream batch without a body")
	}
	if err == nil && out.Body == nil { // as gRPC fails a unary handler's nil reply
		err = status.Error(codes.Internal, "transport: handler returned no reply")
	}
	if err != nil {
		st := status.Convert(err)
		out.Code, out.Message = uint32(st.Code()), st.Message()
	}
	return out
}
