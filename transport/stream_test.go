package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/transport/pb"
)

// methodCounter counts the gRPC calls a server receives, by method, from
// its interceptors.
type methodCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (m *methodCounter) options() []grpc.ServerOption {
	m.calls = map[string]int{}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			m.add(info.FullMethod)
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			m.add(info.FullMethod)
			return h(srv, ss)
		}),
	}
}

func (m *methodCounter) add(method string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[method]++
}

func (m *methodCounter) count(method string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[method]
}

// TestStreamCarriesBatches checks that Replicate and Fetch batches to a
// peer all travel on one stream, with no unary RPC.
func TestStreamCarriesBatches(t *testing.T) {
	f := newFakeNode()
	var m methodCounter
	_, addr := startServer(t, nil, f, ServerConfig{Options: m.options()})
	p := newTestPeers(t, map[string]string{"b": addr}, PeersConfig{})
	ctx := context.Background()

	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("k%d", i)
			if err := p.Replicate(ctx, "b", 0, []byte(key), testSet("self", key), false, ""); err != nil {
				t.Errorf("Replicate %s: %v", key, err)
				return
			}
			got, err := p.Fetch(ctx, "b", 0, []byte(key))
			if err != nil || !got.Equal(testSet("self", key)) {
				t.Errorf("Fetch %s = %v, %v; want its set", key, got, err)
			}
		})
	}
	wg.Wait()
	st := p.Stats().Peers["b"]
	if st.Streams != 1 || st.ReplicateItems != n || st.FetchItems != n {
		t.Errorf("stats: %d streams, %d replicate items, %d fetch items; want 1, %d, %d", st.Streams, st.ReplicateItems, st.FetchItems, n, n)
	}
	if got := m.count(pb.Internode_Stream_FullMethodName); got != 1 {
		t.Errorf("%d Stream calls, want 1", got)
	}
	if got := m.count(pb.Internode_Replicate_FullMethodName) + m.count(pb.Internode_Fetch_FullMethodName); got != 0 {
		t.Errorf("%d unary Replicate or Fetch calls, want 0", got)
	}
	if senders := f.senders(); len(senders) != 1 || senders[0] != "self" {
		t.Errorf("batches from %v, want from self", senders)
	}
}

// TestStreamRepliesOutOfOrder holds the first batch while a second one is
// answered: replies match their batches by id, and each caller gets its
// own answer.
func TestStreamRepliesOutOfOrder(t *testing.T) {
	release := make(chan struct{})
	f := newFakeNode()
	f.replicate = func(b *pb.ReplicateBatch) (*pb.ReplicateAcks, error) {
		acks := &pb.ReplicateAcks{Errors: make([]string, len(b.Items))}
		for i, it := range b.Items {
			if strings.HasPrefix(string(it.Key), "slow") {
				<-release
			}
			acks.Errors[i] = "answer " + string(it.Key)
		}
		return acks, nil
	}
	p := startPeer(t, f, PeersConfig{MaxInFlight: 2})
	ctx := context.Background()

	slow := make(chan error, 1)
	go func() { slow <- p.Replicate(ctx, "b", 0, []byte("slow"), testSet("self", "v"), false, "") }()
	chorustest.Eventually(t, "the slow batch to be sent", func() bool { return p.Stats().Peers["b"].ReplicateBatches == 0 && inFlight(p, "b") == 1 })
	if err := p.Replicate(ctx, "b", 0, []byte("fast"), testSet("self", "v"), false, ""); !isRemote(err, "answer fast") {
		t.Errorf("fast call: got %v, want its own answer", err)
	}
	close(release)
	if err := <-slow; !isRemote(err, "answer slow") {
		t.Errorf("slow call: got %v, want its own answer", err)
	}
}

func inFlight(p *Peers, node string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr := p.peers[node]
	if pr == nil {
		return 0
	}
	return pr.lanes[kindReplicate].inFlight + pr.lanes[kindFetch].inFlight
}

// deadlineNode records the deadline and the end of the context its
// Replicate handler runs under, and holds the handler until that context
// ends.
type deadlineNode struct {
	pb.UnimplementedInternodeServer
	got chan time.Time
	err chan error
}

func (d deadlineNode) Replicate(ctx context.Context, _ *pb.ReplicateBatch) (*pb.ReplicateAcks, error) {
	dl, _ := ctx.Deadline()
	d.got <- dl
	<-ctx.Done()
	d.err <- ctx.Err()
	return nil, status.FromContextError(ctx.Err()).Err()
}

// TestStreamDeadline checks that a batch carries the caller's remaining
// time and that the receiver handles it under that deadline: the handler's
// context ends, and the caller gets its own deadline error.
func TestStreamDeadline(t *testing.T) {
	d := deadlineNode{got: make(chan time.Time, 1), err: make(chan error, 1)}
	_, addr := startServer(t, nil, d, ServerConfig{})
	p := newTestPeers(t, map[string]string{"b": addr}, PeersConfig{CallTimeout: time.Hour})

	const timeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := p.Replicate(ctx, "b", 0, []byte("k"), testSet("self", "v"), false, "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Replicate: got %v, want context.DeadlineExceeded", err)
	}
	dl := <-d.got
	if dl.IsZero() || dl.After(start.Add(timeout+time.Second)) {
		t.Errorf("handler deadline %v after the call started: want one, at most the caller's %v (and clock noise)", dl.Sub(start), timeout)
	}
	if err := <-d.err; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("handler context ended with %v, want DeadlineExceeded", err)
	}
}

// TestStreamBatchExpires checks that a batch whose receiver ignores the
// deadline fails at CallTimeout with ErrUnreachable and DeadlineExceeded,
// and that its slot is free for the next batch meanwhile.
func TestStreamBatchExpires(t *testing.T) {
	f := newFakeNode()
	release := make(chan struct{})
	defer close(release)
	f.replicate = func(b *pb.ReplicateBatch) (*pb.ReplicateAcks, error) {
		if string(b.Items[0].Key) == "deaf" {
			<-release // ignores its context
		}
		return &pb.ReplicateAcks{Errors: make([]string, len(b.Items))}, nil
	}
	p := startPeer(t, f, PeersConfig{MaxInFlight: 1, CallTimeout: 100 * time.Millisecond})
	ctx := context.Background()
	err := p.Replicate(ctx, "b", 0, []byte("deaf"), testSet("self", "v"), false, "")
	if !errors.Is(err, ErrUnreachable) || status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("Replicate to a deaf handler: got %v (code %v), want ErrUnreachable, DeadlineExceeded", err, status.Code(err))
	}
	if err := p.Replicate(ctx, "b", 0, []byte("next"), testSet("self", "v"), false, ""); err != nil {
		t.Errorf("Replicate while the deaf one runs: %v", err)
	}
	if st := p.Stats().Peers["b"]; st.Streams != 1 || st.RPCErrors != 1 {
		t.Errorf("stats: %d streams, %d batch errors; want 1, 1 (a passed deadline keeps the stream)", st.Streams, st.RPCErrors)
	}
}

// TestStreamServerDies holds batches in the receiver and stops it hard:
// every batch in flight fails with ErrUnreachable, and once a server
// listens at the address again a call opens a new stream and succeeds.
func TestStreamServerDies(t *testing.T) {
	f := newFakeNode()
	f.block, f.entered = make(chan struct{}), make(chan struct{}, 2)
	defer close(f.block)
	srv, err := NewServer(nil, f, ServerConfig{StopTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	go srv.Serve(lis)
	p := newTestPeers(t, map[string]string{"b": addr}, PeersConfig{MaxInFlight: 1})
	ctx := context.Background()

	errs := make(chan error, 2)
	go func() { errs <- p.Replicate(ctx, "b", 0, []byte("r"), testSet("self", "v"), false, "") }()
	go func() { _, err := p.Fetch(ctx, "b", 0, []byte("f")); errs <- err }()
	waitEntered(t, f)
	waitEntered(t, f)
	srv.Close() // the handlers hold past StopTimeout: the connection is cut
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrUnreachable) {
			t.Errorf("call in flight on a dead stream: got %v, want ErrUnreachable", err)
		}
	}

	g := newFakeNode()
	_, addr2 := startServerAt(t, addr, g)
	if addr2 != addr {
		t.Fatalf("restarted at %s, want %s", addr2, addr)
	}
	chorustest.EventuallyOK(t, "a call to the restarted peer", func() error {
		return p.Replicate(ctx, "b", 0, []byte("again"), testSet("self", "v"), false, "")
	})
	if st := p.Stats().Peers["b"]; st.Streams != 2 {
		t.Errorf("%d streams opened, want 2", st.Streams)
	}
}

// startServerAt serves in at addr until the test ends.
func startServerAt(t *testing.T, addr string, in pb.InternodeServer) (*Server, string) {
	t.Helper()
	srv, err := NewServer(nil, in, ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var lis net.Listener
	chorustest.EventuallyOK(t, "listening at "+addr, func() error {
		var err error
		lis, err = net.Listen("tcp", addr)
		return err
	})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, lis.Addr().String()
}

// TestStreamBroken ends the receiver's side of a stream after its second
// batch: the first (held) batch still gets its answer, the second fails
// with ErrUnreachable, and the next call opens a new stream on the same
// connection.
func TestStreamBroken(t *testing.T) {
	f := newFakeNode()
	f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
	var once sync.Once
	breakSecond := grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		first := false
		once.Do(func() { first = true })
		if !first {
			return h(srv, ss)
		}
		return h(srv, &failingStream{ServerStream: ss, after: 1, onFail: func() { close(f.block) }})
	})
	_, addr := startServer(t, nil, f, ServerConfig{Options: []grpc.ServerOption{breakSecond}})
	p := newTestPeers(t, map[string]string{"b": addr}, PeersConfig{MaxInFlight: 2})
	ctx := context.Background()

	held := make(chan error, 1)
	go func() { held <- p.Replicate(ctx, "b", 0, []byte("held"), testSet("self", "v"), false, "") }()
	waitEntered(t, f)
	err := p.Replicate(ctx, "b", 0, []byte("lost"), testSet("self", "v"), false, "")
	if !errors.Is(err, ErrUnreachable) || status.Code(err) != codes.DataLoss {
		t.Errorf("call on a breaking stream: got %v (code %v), want ErrUnreachable, DataLoss", err, status.Code(err))
	}
	if err := <-held; err != nil {
		t.Errorf("held call: got %v, want its answer", err)
	}
	if err := p.Replicate(ctx, "b", 0, []byte("after"), testSet("self", "v"), false, ""); err != nil {
		t.Errorf("call after the break: %v", err)
	}
	if st := p.Stats().Peers["b"]; st.Streams != 2 {
		t.Errorf("%d streams opened, want 2", st.Streams)
	}
}

// failingStream fails RecvMsg after `after` messages, as a stream whose
// connection broke, and then calls onFail.
type failingStream struct {
	grpc.ServerStream
	after  int
	onFail func()
}

func (s *failingStream) RecvMsg(m any) error {
	if s.after == 0 {
		s.onFail()
		return status.Error(codes.DataLoss, "test: stream cut")
	}
	s.after--
	return s.ServerStream.RecvMsg(m)
}

// concurrentNode is a fakeNode that records how many Replicate batches
// it handled at once, at most.
type concurrentNode struct {
	*fakeNode
	mu       sync.Mutex
	now, max int
}

func (c *concurrentNode) Replicate(ctx context.Context, b *pb.ReplicateBatch) (*pb.ReplicateAcks, error) {
	c.mu.Lock()
	c.now++
	c.max = max(c.max, c.now)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.now--
		c.mu.Unlock()
	}()
	return c.fakeNode.Replicate(ctx, b)
}

// TestStreamMaxInFlight holds the receiver: no more than MaxInFlight
// batches reach it at once, and the calls made meanwhile queue and leave
// in few, large batches.
func TestStreamMaxInFlight(t *testing.T) {
	f := newFakeNode()
	f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
	c := &concurrentNode{fakeNode: f}
	_, addr := startServer(t, nil, c, ServerConfig{})
	p := newTestPeers(t, map[string]string{"b": addr}, PeersConfig{MaxInFlight: 2})
	ctx := context.Background()

	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := p.Replicate(ctx, "b", 0, fmt.Appendf(nil, "k%d", i), testSet("self", "v"), false, ""); err != nil {
				t.Errorf("Replicate k%d: %v", i, err)
			}
		})
	}
	chorustest.Eventually(t, "two batches in flight and the other calls queued", func() bool {
		return inFlight(p, "b") == 2 && queued(p, "b")+inFlightItems(p, "b") == n
	})
	close(f.block)
	wg.Wait()
	rpcs, items, _ := f.counts()
	if items != n || rpcs >= n {
		t.Errorf("%d items in %d batches, want %d in fewer batches", items, rpcs, n)
	}
	if c.max > 2 {
		t.Errorf("the receiver handled %d batches at once, want at most MaxInFlight 2", c.max)
	}
}

// inFlightItems counts the calls in batches on node's stream.
func inFlightItems(p *Peers, node string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	if pr := p.peers[node]; pr != nil && pr.stream != nil {
		for _, f := range pr.stream.pending {
			n += len(f.batch)
		}
	}
	return n
}

// TestStreamFallback talks to a node of an earlier version, which serves
// Replicate and Fetch but not Stream: calls go as unary RPCs, and with a
// StreamRetry that has always passed, every batch tries a stream first.
func TestStreamFallback(t *testing.T) {
	for _, retry := range []time.Duration{0, time.Nanosecond} {
		t.Run(fmt.Sprint("retry=", retry), func(t *testing.T) {
			f := newFakeNode()
			var m methodCounter
			g := grpc.NewServer(m.options()...)
			pb.RegisterInternodeServer(g, f) // f's Stream is UnimplementedInternodeServer's
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go g.Serve(lis)
			t.Cleanup(g.Stop)
			p := newTestPeers(t, map[string]string{"b": lis.Addr().String()}, PeersConfig{StreamRetry: retry})
			ctx := context.Background()
			for i := range 3 {
				key := fmt.Sprintf("k%d", i)
				if err := p.Replicate(ctx, "b", 0, []byte(key), testSet("self", key), false, ""); err != nil {
					t.Fatalf("Replicate %s: %v", key, err)
				}
				if got, err := p.Fetch(ctx, "b", 0, []byte(key)); err != nil || !got.Equal(testSet("self", key)) {
					t.Fatalf("Fetch %s = %v, %v; want its set", key, got, err)
				}
			}
			if got := m.count(pb.Internode_Replicate_FullMethodName) + m.count(pb.Internode_Fetch_FullMethodName); got != 6 {
				t.Errorf("%d unary calls, want 6", got)
			}
			wantStreams := 1
			if retry > 0 {
				wantStreams = 6
			}
			if got := m.count(pb.Internode_Stream_FullMethodName); got != wantStreams {
				t.Errorf("%d Stream attempts, want %d", got, wantStreams)
			}
			if st := p.Stats().Peers["b"]; st.Streams != 0 || st.RPCErrors != 0 {
				t.Errorf("stats: %d streams, %d batch errors; want 0, 0", st.Streams, st.RPCErrors)
			}
		})
	}
}

// TestServerCloseWithStream closes a server whose stream holds a batch:
// the batch is answered, the stream ends, and Close returns (GracefulStop
// would wait for the stream forever otherwise; StopTimeout is an hour).
func TestServerCloseWithStream(t *testing.T) {
	f := newFakeNode()
	f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
	srv, addr := startServer(t, nil, f, ServerConfig{StopTimeout: time.Hour})
	p := newTestPeers(t, map[string]string{"b": addr}, PeersConfig{})
	ctx := context.Background()

	held := make(chan error, 1)
	go func() { held <- p.Replicate(ctx, "b", 0, []byte("held"), testSet("self", "v"), false, "") }()
	waitEntered(t, f)
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	close(f.block)
	if err := <-held; err != nil {
		t.Errorf("batch held while the server closed: got %v, want its answer", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := p.Replicate(ctx, "b", 0, []byte("late"), testSet("self", "v"), false, ""); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Replicate to the closed server: got %v, want ErrUnreachable", err)
	}
}

// TestStreamOversizedSend sends an item over MaxBatchBytes and over the
// sender's own message limit: it goes alone as a unary RPC and fails
// alone, and the stream carries on.
func TestStreamOversizedSend(t *testing.T) {
	_, addr := startServer(t, nil, newFakeNode(), ServerConfig{})
	pool := newTestPool(t, PoolConfig{MaxSendMsgSize: 64 << 10})
	p, err := NewPeers("self", pool.Dialer(func(string) (string, error) { return addr, nil }), PeersConfig{MaxBatchBytes: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	if err := p.Replicate(ctx, "b", 0, []byte("small"), testSet("self", "v"), false, ""); err != nil {
		t.Fatalf("Replicate: %v", err)
	}
	err = p.Replicate(ctx, "b", 0, []byte("big"), testSet("self", strings.Repeat("x", 128<<10)), false, "")
	if !errors.Is(err, ErrUnreachable) || status.Code(err) != codes.ResourceExhausted {
		t.Errorf("oversized Replicate: got %v (code %v), want ErrUnreachable, ResourceExhausted", err, status.Code(err))
	}
	if err := p.Replicate(ctx, "b", 0, []byte("after"), testSet("self", "v"), false, ""); err != nil {
		t.Errorf("Replicate after the oversized one: %v", err)
	}
	if st := p.Stats().Peers["b"]; st.Streams != 1 {
		t.Errorf("%d streams opened, want 1 (an oversized message leaves the stream up)", st.Streams)
	}
}

// FuzzStreamBatch feeds arbitrary bytes, decoded as a PeerBatch, to the
// receiver's batch handler: it must not panic, and must answer with the
// batch's id and either a reply or an error status.
func FuzzStreamBatch(f *testing.F) {
	for _, b := range []*pb.PeerBatch{
		{Id: 1, TimeoutNanos: int64(time.Second), Body: &pb.PeerBatch_Replicate{Replicate: &pb.ReplicateBatch{From: "a",
			Items: []*pb.ReplicateItem{{Key: []byte("k"), Set: testSet("a", "v").Encode()}, {Key: []byte("bad")}}}}},
		{Id: 2, Body: &pb.PeerBatch_Fetch{Fetch: &pb.FetchBatch{Items: []*pb.FetchItem{{Key: []byte("k")}, {Key: []byte("garbage")}}}}},
		{Id: 3, TimeoutNanos: -1},
	} {
		seed, err := proto.Marshal(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seed)
	}
	f.Add([]byte{0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b pb.PeerBatch
		if proto.Unmarshal(data, &b) != nil {
			return
		}
		s := &serverStream{in: newFakeNode()}
		r := s.handle(context.Background(), &b)
		if r.GetId() != b.GetId() || (r.GetBody() == nil) == (r.GetCode() == 0) {
			t.Fatalf("batch %v: reply %v, want id %d and exactly one of a body and a code", &b, r, b.GetId())
		}
		if _, err := proto.Marshal(r); err != nil {
			t.Fatalf("reply %v does not encode: %v", r, err)
		}
	})
}

// FuzzStreamReply feeds arbitrary bytes, decoded as a PeerBatchReply, to
// the sender's reading of a reply to a batch of two calls: it must not
// panic, and must give both calls an answer or fail the batch.
func FuzzStreamReply(f *testing.F) {
	for _, r := range []*pb.PeerBatchReply{
		{Id: 1, Body: &pb.PeerBatchReply_Replicate{Replicate: &pb.ReplicateAcks{Errors: []string{"", "no"}, VisibleUnixNanos: []int64{1, 0}}}},
		{Id: 1, Body: &pb.PeerBatchReply_Fetch{Fetch: &pb.FetchReplies{Replies: []*pb.FetchReply{{Set: []byte{1}}, {Incomplete: true}}}}},
		{Id: 1, Code: uint32(codes.Unavailable), Message: "down"},
	} {
		seed, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, fetch bool) {
		var r pb.PeerBatchReply
		if proto.Unmarshal(data, &r) != nil {
			return
		}
		p := &Peers{cfg: DefaultPeersConfig()}
		fl := &flight{id: 1, k: kindReplicate, batch: []*call{{}, {}}}
		if fetch {
			fl.k = kindFetch
		}
		answers, err := p.replyAnswers("b", fl, time.Now(), &r)
		if err == nil && len(answers) != len(fl.batch) {
			t.Fatalf("reply %v: %d answers for %d calls and no error", &r, len(answers), len(fl.batch))
		}
	})
}

// TestStreamStalled fills a stream whose receiver stopped reading (its
// only slot is held by a handler that ignores its deadline): the Send
// blocked by flow control ends the stream at the batch's deadline, and the
// next call goes on a new stream instead of waiting behind it.
func TestStreamStalled(t *testing.T) {
	f := newFakeNode()
	stuck := make(chan struct{})
	defer close(stuck)
	f.replicate = func(b *pb.ReplicateBatch) (*pb.ReplicateAcks, error) {
		if strings.HasPrefix(string(b.Items[0].Key), "stuck") {
			<-stuck
		}
		return &pb.ReplicateAcks{Errors: make([]string, len(b.Items))}, nil
	}
	_, addr := startServer(t, nil, f, ServerConfig{StreamInFlight: 1})
	p := newTestPeers(t, map[string]string{"b": addr}, PeersConfig{MaxInFlight: 1, CallTimeout: 200 * time.Millisecond})
	ctx := context.Background()

	// The first batch holds the receiver's slot past its deadline, the
	// second waits for that slot, unread; then large batches fill the
	// stream's flow-control window until a Send blocks.
	big := testSet("self", strings.Repeat("x", 1<<20))
	for i := 0; ; i++ {
		if i == 64 {
			t.Fatal("64 MiB written to a receiver that reads nothing: no stall")
		}
		err := p.Replicate(ctx, "b", 0, fmt.Appendf(nil, "stuck%d", i), big, false, "")
		if !errors.Is(err, ErrUnreachable) || status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("call %d to a stuck receiver: got %v (code %v), want ErrUnreachable, DeadlineExceeded", i, err, status.Code(err))
		}
		if strings.Contains(err.Error(), "stalled") {
			break
		}
	}
	if err := p.Replicate(ctx, "b", 0, []byte("after"), testSet("self", "v"), false, ""); err != nil {
		t.Errorf("call after the stall: %v", err)
	}
	if st := p.Stats().Peers["b"]; st.Streams != 2 {
		t.Errorf("%d streams opened, want 2", st.Streams)
	}
}
