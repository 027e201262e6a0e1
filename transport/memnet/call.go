package memnet

import (
	"context"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/transport/pb"
)

// errClosed fails calls made after, or cut short by, Close.
var errClosed = status.Error(codes.Unavailable, "memnet: closed")

// hop is one message's trip across a directed link.
type hop struct {
	from, to string
	resp     bool   // a response: from handled the request, to made the call
	gen      uint64 // for a response, the registration of from that handled it
}

func (h hop) link() Link { return Link{h.from, h.to} }

// lost is the error of a message lost on its link. A lost request
// carries the ErrorInfo of pb.ReasonNotSent (the call certainly did not
// reach its receiver); a lost response does not (it did).
func (h hop) lost(why string) error {
	what := "request"
	if h.resp {
		what = "response"
	}
	st := status.Newf(codes.Unavailable, "memnet: %s -> %s: %s %s", h.from, h.to, what, why)
	if !h.resp {
		if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: pb.ReasonNotSent, Domain: pb.ErrorDomain}); err == nil {
			st = d
		}
	}
	return st.Err()
}

// ctxError turns the end of the caller's context into the status a gRPC
// client would return (DeadlineExceeded or Canceled).
func (h hop) ctxError(err error) error {
	code := status.FromContextError(err).Code()
	return status.Errorf(code, "memnet: %s -> %s: %v", h.from, h.to, err)
}

// roundTrip makes one unary call from -> to: the request crosses its link,
// the handler pick chooses from the receiver's registration runs, and the
// response (or the handler's error) crosses back. Every message is copied
// through the protobuf codec. It returns once ctx ends, whatever the
// handler does.
func roundTrip[Req, Resp proto.Message](ctx context.Context, n *Network, from, to, method string, req Req,
	pick func(endpoint) func(context.Context, Req) (Resp, error)) (Resp, error) {
	var zero Resp
	out := hop{from: from, to: to}
	if err := ctx.Err(); err != nil {
		return zero, out.ctxError(err)
	}
	in, err := n.copyMsg(req, out)
	if err != nil {
		return zero, err
	}
	if err := n.transit(ctx, out); err != nil {
		return zero, err
	}
	e, err := n.arrive(ctx, out, in)
	if err != nil {
		return zero, err
	}
	var b []byte
	var herr error
	if h := pick(e); h == nil {
		herr = status.Errorf(codes.Unimplemented, "memnet: %s serves no %s", to, method)
	} else if b, herr, err = serve(ctx, n, out, in, h); err != nil {
		return zero, err
	}
	back := hop{from: to, to: from, resp: true, gen: e.gen}
	if err := n.transit(ctx, back); err != nil {
		return zero, err
	}
	n.count(back.link(), func(s *LinkStats) { s.Delivered++ })
	if herr != nil {
		return zero, herr
	}
	resp := zero.ProtoReflect().New().Interface().(Resp)
	if err := proto.Unmarshal(b, resp); err != nil {
		return zero, status.Errorf(codes.Internal, "memnet: %s -> %s: decode response: %v", to, from, err)
	}
	return resp, nil
}

// copyMsg returns a copy of m made through the codec, or the error a gRPC
// client would give for a message it cannot send.
func (n *Network) copyMsg(m proto.Message, h hop) (proto.Message, error) {
	b, err := n.encode(m, h)
	if err != nil {
		return nil, err
	}
	c := m.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(b, c); err != nil {
		return nil, status.Errorf(codes.Internal, "memnet: %s -> %s: decode: %v", h.from, h.to, err)
	}
	return c, nil
}

// encode marshals m and enforces Config.MaxMsgSize.
func (n *Network) encode(m proto.Message, h hop) ([]byte, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "memnet: %s -> %s: encode: %v", h.from, h.to, err)
	}
	if limit := n.cfg.MaxMsgSize; limit > 0 && len(b) > limit {
		return nil, status.Errorf(codes.ResourceExhausted,
			"memnet: %s -> %s: message is %d bytes, limit %d", h.from, h.to, len(b), limit)
	}
	return b, nil
}

// transit carries one message across its link: it leaves once its sender
// is not paused, whether it is lost is decided as it enters, then it waits
// out the link's delay.
func (n *Network) transit(ctx context.Context, h hop) error {
	if held := n.pausedCh(h.from); held != nil {
		// A paused sender sends nothing until it is resumed.
		select {
		case <-held:
		case <-ctx.Done():
			return h.ctxError(ctx.Err())
		case <-n.done:
			return errClosed
		}
	}
	d, err := n.enter(h)
	if err != nil {
		if err != errClosed && n.cfg.Blackhole {
			return n.wait(ctx, h, nil)
		}
		return err
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		return n.wait(ctx, h, t.C)
	}
	return nil
}

// wait blocks until timer fires (nil: never), ctx ends or Close.
func (n *Network) wait(ctx context.Context, h hop, timer <-chan time.Time) error {
	select {
	case <-timer:
		return nil
	case <-ctx.Done():
		return h.ctxError(ctx.Err())
	case <-n.done:
		return errClosed
	}
}

// enter counts a message entering its link and decides its fate: the
// error of its loss, or the delay before it arrives.
func (n *Network) enter(h hop) (time.Duration, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return 0, errClosed
	}
	why := n.lossLocked(h)
	n.countLocked(h.link(), func(s *LinkStats) {
		s.Sent++
		if why != "" {
			s.Dropped++
		}
	})
	if why != "" {
		return 0, h.lost(why)
	}
	return n.delay[h.link()], nil
}

// lossLocked says why h's message is lost, or "" when it is not. Drop
// draws from the random source only when 0 < p < 1, so links without a
// drop rate do not shift the sequence of others.
func (n *Network) lossLocked(h hop) string {
	if h.resp {
		if e, ok := n.nodes[h.from]; !ok || e.gen != h.gen {
			return "lost: " + h.from + " went down"
		}
	} else if _, ok := n.nodes[h.to]; !ok {
		return "lost: " + h.to + " is down"
	}
	if n.group[h.from] != n.group[h.to] {
		return "partitioned"
	}
	p := n.drop[h.link()]
	if p >= 1 || (p > 0 && n.rng.Float64() < p) {
		return "dropped"
	}
	return ""
}

// arrive hands a request that crossed its link to the receiver: it checks
// the receiver is still up, runs the interceptor and returns the
// receiver's registration.
func (n *Network) arrive(ctx context.Context, h hop, msg proto.Message) (endpoint, error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return endpoint{}, errClosed
	}
	e, ok := n.nodes[h.to]
	f := n.intercept
	if !ok {
		n.countLocked(h.link(), func(s *LinkStats) { s.Dropped++ })
	}
	n.mu.Unlock()
	if !ok {
		if n.cfg.Blackhole {
			return endpoint{}, n.wait(ctx, h, nil)
		}
		return endpoint{}, h.lost("lost: " + h.to + " is down")
	}
	if f != nil {
		if err := f(h.from, h.to, msg); err != nil {
			n.count(h.link(), func(s *LinkStats) { s.Rejected++ })
			return endpoint{}, err
		}
	}
	n.count(h.link(), func(s *LinkStats) { s.Delivered++ })
	return e, nil
}

// result is what a handler goroutine hands back: the encoded response or
// the handler's error.
type result struct {
	b   []byte
	err error
}

// serve runs handler h on its own goroutine, owned by the network, and
// waits for it, ctx or Close. It returns the encoded response or the
// handler's error, and separately the error that ends the call at once.
// The result channel is buffered so an abandoned handler never blocks.
// A request that reaches a paused node waits for Resume on that goroutine
// and is then handled whether or not its caller still waits (see Pause).
func serve[Req, Resp proto.Message](ctx context.Context, n *Network, h hop, in proto.Message,
	handler func(context.Context, Req) (Resp, error)) ([]byte, error, error) {
	held := n.pausedCh(h.to)
	hctxParent := ctx
	if held != nil {
		hctxParent = context.WithoutCancel(ctx)
	}
	hctx, id, err := n.start(hctxParent, h.to)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan result, 1)
	go func() {
		defer n.finish(id)
		if held != nil {
			select {
			case <-held:
			case <-hctx.Done(): // unregistered while paused
				ch <- result{err: h.lost("lost: " + h.to + " went down")}
				return
			case <-n.done:
				ch <- result{err: errClosed}
				return
			}
		}
		resp, err := handler(hctx, in.(Req))
		if f := n.answerInterceptor(); f != nil {
			var out proto.Message
			if err == nil {
				out = resp
			}
			if ferr := f(h.from, h.to, in, out, err); ferr != nil {
				ch <- result{err: ferr}
				return
			}
		}
		if err != nil {
			ch <- result{err: err}
			return
		}
		b, err := n.encode(resp, hop{from: h.to, to: h.from})
		ch <- result{b: b, err: err}
	}()
	select {
	case r := <-ch:
		return r.b, r.err, nil
	case <-ctx.Done():
		return nil, nil, h.ctxError(ctx.Err())
	case <-n.done:
		return nil, nil, errClosed
	}
}

func (n *Network) answerInterceptor() func(from, to string, req, resp proto.Message, err error) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.answer
}

// start registers a handler invocation on node and returns its context:
// derived from the caller's (deadline and cancellation carry over), with
// the caller's outgoing metadata as incoming metadata, and cancelled also
// by Close, Unregister and re-Register.
func (n *Network) start(ctx context.Context, node string) (context.Context, uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, 0, errClosed
	}
	hctx, cancel := context.WithCancel(ctx)
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		hctx = metadata.NewIncomingContext(hctx, md.Copy())
	}
	n.nextCall++
	n.handlers[n.nextCall] = running{node: node, cancel: cancel}
	n.wg.Add(1)
	return hctx, n.nextCall, nil
}

// finish ends the handler invocation id.
func (n *Network) finish(id uint64) {
	n.mu.Lock()
	r := n.handlers[id]
	delete(n.handlers, id)
	n.mu.Unlock()
	r.cancel()
	n.wg.Done()
}
