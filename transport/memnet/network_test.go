package memnet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/transport/pb"
)

func TestRoundTripCopies(t *testing.T) {
	n := New(DefaultConfig())
	defer n.Close()
	kv := &fakeKV{}
	n.Register("b", kv, nil)

	req := &pb.GetRequest{Key: []byte("key"), Quorum: &pb.Quorum{R: 2}}
	resp, err := n.KV("a", "b").Get(context.Background(), req)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if len(resp.Siblings) != 1 || string(resp.Siblings[0].Value) != "key" || resp.Context != "ctx" {
		t.Fatalf("Get = %v, want one sibling \"key\" and context \"ctx\"", resp)
	}
	seen, sent := kv.reqs[0], kv.resps[0]
	if seen == req || sent == resp {
		t.Fatal("handler and caller share a message, want copies")
	}

	// Caller-side changes must not reach the handler's messages...
	req.Key[0] = 'X'
	req.Quorum.R = 9
	resp.Siblings[0].Value[0] = 'X'
	if string(seen.Key) != "key" || seen.Quorum.GetR() != 2 {
		t.Fatalf("handler saw %v after caller changed its request, want key \"key\" r 2", seen)
	}
	if string(sent.Siblings[0].Value) != "key" {
		t.Fatalf("handler's response became %v after caller changed its copy", sent)
	}
	// ...and handler-side changes must not reach the caller's.
	seen.Key[1] = 'Y'
	if string(req.Key) != "Xey" {
		t.Fatalf("caller's key = %q after handler changed its copy, want \"Xey\"", req.Key)
	}
	if !proto.Equal(seen.Quorum, &pb.Quorum{R: 2}) {
		t.Fatalf("handler's quorum = %v, want r:2", seen.Quorum)
	}
}

func TestPartitionBothDirectionsAndHeal(t *testing.T) {
	n, _ := newNet(t, DefaultConfig())
	ctx := context.Background()

	n.Partition([]string{"a"}) // a alone; b and c form the rest
	for _, l := range []Link{{"a", "b"}, {"b", "a"}, {"a", "c"}, {"c", "a"}} {
		err := replicate(ctx, n, l.From, l.To)
		wantCode(t, l.From+" -> "+l.To+" partitioned", err, codes.Unavailable)
		if !strings.Contains(err.Error(), "memnet: "+l.From+" -> "+l.To+": request partitioned") {
			t.Fatalf("error %q does not name the link and the partition", err)
		}
	}
	if err := replicate(ctx, n, "b", "c"); err != nil {
		t.Fatalf("b -> c, same side: %v", err)
	}

	// A later Partition replaces the earlier one.
	n.Partition([]string{"a", "b"}, []string{"c"})
	if err := replicate(ctx, n, "a", "b"); err != nil {
		t.Fatalf("a -> b after repartition: %v", err)
	}
	wantCode(t, "b -> c after repartition", replicate(ctx, n, "b", "c"), codes.Unavailable)

	n.Heal()
	for _, l := range []Link{{"a", "b"}, {"b", "c"}, {"c", "a"}} {
		if err := replicate(ctx, n, l.From, l.To); err != nil {
			t.Fatalf("%s -> %s after Heal: %v", l.From, l.To, err)
		}
	}
}

func TestUnregisterAndReregister(t *testing.T) {
	n, fakes := newNet(t, DefaultConfig())
	ctx := context.Background()

	n.Unregister("b")
	err := replicate(ctx, n, "a", "b")
	wantCode(t, "a -> down b", err, codes.Unavailable)
	if !strings.Contains(err.Error(), "b is down") {
		t.Fatalf("error %q does not say b is down", err)
	}
	if got := fakes["b"].applied.Load(); got != 0 {
		t.Fatalf("down b applied %d batches, want 0", got)
	}
	// A down node's own calls still go out.
	if err := replicate(ctx, n, "b", "a"); err != nil {
		t.Fatalf("b -> a while b is down: %v", err)
	}

	restarted := newFakeInternode()
	n.Register("b", nil, restarted)
	if err := replicate(ctx, n, "a", "b"); err != nil {
		t.Fatalf("a -> b after restart: %v", err)
	}
	if got := restarted.applied.Load(); got != 1 {
		t.Fatalf("restarted b applied %d batches, want 1", got)
	}
	_, err = n.KV("a", "b").Get(ctx, &pb.GetRequest{})
	wantCode(t, "KV on a node registered without KV", err, codes.Unimplemented)
}

func TestDropAlways(t *testing.T) {
	n, fakes := newNet(t, DefaultConfig())
	n.SetDrop("a", "b", 1)
	for i := range 20 {
		err := replicate(context.Background(), n, "a", "b")
		wantCode(t, fmt.Sprintf("call %d", i), err, codes.Unavailable)
	}
	if got := fakes["b"].applied.Load(); got != 0 {
		t.Fatalf("b applied %d batches through a 100%% drop, want 0", got)
	}
	if got := n.Stats().Links[Link{"a", "b"}]; got != (LinkStats{Sent: 20, Dropped: 20}) {
		t.Fatalf("a -> b stats = %+v, want 20 sent, 20 dropped", got)
	}
	// The other direction carries b's request to a, but a's response
	// travels a -> b and is lost.
	err := replicate(context.Background(), n, "b", "a")
	if !strings.Contains(fmt.Sprint(err), "a -> b: response dropped") {
		t.Fatalf("b -> a: %v, want its response dropped on a -> b", err)
	}
	if got := fakes["a"].applied.Load(); got != 1 {
		t.Fatalf("a applied %d batches from b, want 1", got)
	}
}

func TestDropDeterministic(t *testing.T) {
	const seed = 42
	run := func() string {
		n, _ := newNet(t, Config{Seed: seed})
		n.SetDrop("a", "b", 0.5)
		var b strings.Builder
		for range 200 {
			if replicate(context.Background(), n, "a", "b") == nil {
				b.WriteByte('.')
			} else {
				b.WriteByte('x')
			}
		}
		return b.String()
	}
	first, second := run(), run()
	if first != second {
		t.Fatalf("seed %d: outcomes differ between runs:\n%s\n%s", seed, first, second)
	}
	if !strings.Contains(first, ".") || !strings.Contains(first, "x") {
		t.Fatalf("seed %d: p=0.5 gave %s, want both deliveries and drops", seed, first)
	}
}

func TestBlackhole(t *testing.T) {
	n, fakes := newNet(t, Config{Seed: 1, Blackhole: true})
	n.SetDrop("a", "b", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	wantCode(t, "blackholed drop", replicate(ctx, n, "a", "b"), codes.DeadlineExceeded)
	if ctx.Err() == nil {
		t.Fatal("blackholed call returned before its deadline")
	}

	n.Unregister("c")
	ctx2, cancel2 := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- replicate(ctx2, n, "a", "c") }()
	cancel2()
	wantCode(t, "blackholed down node, cancelled", <-errc, codes.Canceled)
	if got := fakes["b"].applied.Load() + fakes["c"].applied.Load(); got != 0 {
		t.Fatalf("%d batches applied through blackholes, want 0", got)
	}
}

func TestDelay(t *testing.T) {
	n, fakes := newNet(t, DefaultConfig())

	n.SetDelay("a", "b", time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	wantCode(t, "ctx shorter than delay", replicate(ctx, n, "a", "b"), codes.DeadlineExceeded)
	if got := fakes["b"].applied.Load(); got != 0 {
		t.Fatalf("b applied %d batches before the delay ended, want 0", got)
	}

	// Both directions' delays are paid; timers never fire early.
	const d = 5 * time.Millisecond
	n.SetDelay("a", "b", d)
	n.SetDelay("b", "a", d)
	start := time.Now()
	if err := replicate(context.Background(), n, "a", "b"); err != nil {
		t.Fatalf("delayed call: %v", err)
	}
	if el := time.Since(start); el < 2*d {
		t.Fatalf("round trip took %v, want at least %v", el, 2*d)
	}
	if got := fakes["b"].applied.Load(); got != 1 {
		t.Fatalf("b applied %d batches, want 1", got)
	}
}

func TestLostResponse(t *testing.T) {
	n, fakes := newNet(t, DefaultConfig())
	n.SetDrop("b", "a", 1)
	err := replicate(context.Background(), n, "a", "b")
	wantCode(t, "lost response", err, codes.Unavailable)
	if !strings.Contains(err.Error(), "b -> a: response dropped") {
		t.Fatalf("error %q does not say the response was dropped", err)
	}
	if got := fakes["b"].applied.Load(); got != 1 {
		t.Fatalf("b applied %d batches, want 1: the request arrived", got)
	}
}

func TestIntercept(t *testing.T) {
	n, fakes := newNet(t, DefaultConfig())
	ctx := context.Background()

	var mu sync.Mutex
	var seen []string
	n.Intercept(func(from, to string, msg proto.Message) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%s->%s %T", from, to, msg))
		return nil
	})
	if err := replicate(ctx, n, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.KV("client", "c").Get(ctx, &pb.GetRequest{Key: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a->b *pb.ReplicateBatch", "client->c *pb.GetRequest"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("interceptor saw %v, want %v", seen, want)
	}

	injected := errors.New("injected")
	n.Intercept(func(from, to string, msg proto.Message) error {
		if b, ok := msg.(*pb.ReplicateBatch); ok && to == "c" {
			b.Items[0].Key = []byte("tampered")
			return nil
		}
		return injected
	})
	if err := replicate(ctx, n, "a", "b"); !errors.Is(err, injected) {
		t.Fatalf("intercepted call: %v, want the interceptor's error as is", err)
	}
	if got := fakes["b"].applied.Load(); got != 1 {
		t.Fatalf("b applied %d batches, want 1: the rejected call must not run", got)
	}
	if got := n.Stats().Links[Link{"a", "b"}].Rejected; got != 1 {
		t.Fatalf("a -> b rejected = %d, want 1", got)
	}

	n.Intercept(nil)
	if err := replicate(ctx, n, "a", "b"); err != nil {
		t.Fatalf("after removing the interceptor: %v", err)
	}
}

func TestInterceptCanTamper(t *testing.T) {
	n := New(DefaultConfig())
	defer n.Close()
	n.Register("b", &fakeKV{}, nil)
	n.Intercept(func(from, to string, msg proto.Message) error {
		msg.(*pb.GetRequest).Key = []byte("tampered")
		return nil
	})
	req := &pb.GetRequest{Key: []byte("k")}
	resp, err := n.KV("a", "b").Get(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(resp.Siblings[0].Value); got != "tampered" {
		t.Fatalf("handler answered %q, want the tampered key", got)
	}
	if string(req.Key) != "k" {
		t.Fatalf("caller's key became %q, want \"k\"", req.Key)
	}
}

func TestCallReturnsWhenHandlerIgnoresContext(t *testing.T) {
	n := New(DefaultConfig())
	f := newFakeInternode()
	f.block, f.ignore = true, true
	n.Register("b", nil, f)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := n.Internode("a", "b").Fetch(ctx, &pb.FetchBatch{})
	wantCode(t, "stuck handler", err, codes.DeadlineExceeded)
	if f.finished.Load() {
		t.Fatal("handler finished, want it still stuck")
	}
	go close(f.release)
	n.Close()
	if !f.finished.Load() {
		t.Fatal("Close returned before the handler it started returned")
	}
}

func TestClose(t *testing.T) {
	n := New(DefaultConfig())
	f := newFakeInternode()
	f.block = true
	n.Register("b", nil, f)

	errc := make(chan error, 1)
	go func() {
		_, err := n.Internode("a", "b").Fetch(context.Background(), &pb.FetchBatch{})
		errc <- err
	}()
	<-f.entered
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !f.finished.Load() {
		t.Fatal("Close returned before the running handler did")
	}
	wantCode(t, "call in flight at Close", <-errc, codes.Unavailable)
	wantCode(t, "call after Close", replicate(context.Background(), n, "a", "b"), codes.Unavailable)
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestUnregisterLosesRunningHandlersResponse(t *testing.T) {
	n := New(DefaultConfig())
	defer n.Close()
	f := newFakeInternode()
	f.block = true
	n.Register("b", nil, f)

	errc := make(chan error, 1)
	go func() {
		_, err := n.Internode("a", "b").Fetch(context.Background(), &pb.FetchBatch{})
		errc <- err
	}()
	<-f.entered
	n.Unregister("b") // cancels the handler's context
	err := <-errc
	wantCode(t, "response of a node that went down", err, codes.Unavailable)
	if !strings.Contains(err.Error(), "b went down") {
		t.Fatalf("error %q does not say b went down", err)
	}
}

func TestContextAndMetadata(t *testing.T) {
	n := New(DefaultConfig())
	defer n.Close()
	var got metadata.MD
	var hasDeadline bool
	n.Register("b", &mdKV{md: &got, deadline: &hasDeadline}, nil)

	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "k", "v"), time.Minute)
	defer cancel()
	if _, err := n.KV("a", "b").Get(ctx, &pb.GetRequest{}); err != nil {
		t.Fatal(err)
	}
	if v := got.Get("k"); len(v) != 1 || v[0] != "v" || !hasDeadline {
		t.Fatalf("handler saw metadata %v, deadline %v; want k=v and the caller's deadline", got, hasDeadline)
	}

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	_, err := n.KV("a", "b").Get(done, &pb.GetRequest{})
	wantCode(t, "call with an ended context", err, codes.Canceled)
}

type mdKV struct {
	pb.UnimplementedKVServer
	md       *metadata.MD
	deadline *bool
}

func (m *mdKV) Get(ctx context.Context, _ *pb.GetRequest) (*pb.GetResponse, error) {
	*m.md, _ = metadata.FromIncomingContext(ctx)
	_, *m.deadline = ctx.Deadline()
	return &pb.GetResponse{}, nil
}

func TestHandlerErrorPassesThrough(t *testing.T) {
	n := New(DefaultConfig())
	defer n.Close()
	n.Register("b", &pb.UnimplementedKVServer{}, nil)
	_, err := n.KV("a", "b").Put(context.Background(), &pb.PutRequest{})
	wantCode(t, "unimplemented handler", err, codes.Unimplemented)
	if strings.HasPrefix(status.Convert(err).Message(), "memnet:") {
		t.Fatalf("handler's error %q was rewritten by memnet", err)
	}
}

func TestMaxMsgSize(t *testing.T) {
	n := New(Config{MaxMsgSize: 16})
	defer n.Close()
	kv := &fakeKV{}
	n.Register("b", kv, nil)
	_, err := n.KV("a", "b").Get(context.Background(), &pb.GetRequest{Key: make([]byte, 32)})
	wantCode(t, "oversized request", err, codes.ResourceExhausted)
	if len(kv.reqs) != 0 {
		t.Fatalf("handler got %d oversized requests, want 0", len(kv.reqs))
	}
	// The response (key echoed plus context) exceeds 16 bytes though the
	// request does not.
	_, err = n.KV("a", "b").Get(context.Background(), &pb.GetRequest{Key: make([]byte, 12)})
	wantCode(t, "oversized response", err, codes.ResourceExhausted)

	if err := (Config{MaxMsgSize: -1}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "memnet: ") {
		t.Fatalf("Validate(MaxMsgSize -1) = %v, want a memnet: error", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

func TestStats(t *testing.T) {
	n, _ := newNet(t, DefaultConfig())
	ctx := context.Background()
	for range 3 {
		if err := replicate(ctx, n, "a", "b"); err != nil {
			t.Fatal(err)
		}
	}
	n.SetDrop("b", "a", 1)
	_ = replicate(ctx, n, "a", "b")
	s := n.Stats()
	if got, want := s.Links[Link{"a", "b"}], (LinkStats{Sent: 4, Delivered: 4}); got != want {
		t.Fatalf("a -> b = %+v, want %+v", got, want)
	}
	if got, want := s.Links[Link{"b", "a"}], (LinkStats{Sent: 4, Delivered: 3, Dropped: 1}); got != want {
		t.Fatalf("b -> a = %+v, want %+v", got, want)
	}
	if got, want := s.LinkStats, (LinkStats{Sent: 8, Delivered: 7, Dropped: 1}); got != want {
		t.Fatalf("totals = %+v, want %+v", got, want)
	}
}

// TestConcurrentFaults runs calls on every link while another goroutine
// flips faults; run with -race. Every call must end, and every message
// must be counted once.
func TestConcurrentFaults(t *testing.T) {
	const seed = 7
	n, _ := newNet(t, Config{Seed: seed})
	nodes := []string{"a", "b", "c"}
	var wg sync.WaitGroup
	for i, from := range nodes {
		to := nodes[(i+1)%len(nodes)]
		wg.Go(func() {
			for range 200 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = replicate(ctx, n, from, to)
				cancel()
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			switch i % 4 {
			case 0:
				n.Partition([]string{nodes[i%3]})
			case 1:
				n.SetDrop("a", "b", 0.5)
			case 2:
				n.Unregister("c")
			case 3:
				n.Register("c", nil, newFakeInternode())
				n.Heal()
			}
		}
	})
	wg.Wait()
	s := n.Stats()
	if s.Sent != s.Delivered+s.Dropped+s.Rejected {
		t.Fatalf("seed %d: stats %+v do not add up: every message ended, so sent = delivered + dropped + rejected", seed, s.LinkStats)
	}
}

// TestReachableFollowsFaults covers Reachable (reachable.go, added beside
// this package's first version): it follows registration, partitions and
// Close, and ignores drop rates.
func TestReachableFollowsFaults(t *testing.T) {
	n, _ := newNet(t, DefaultConfig())
	check := func(what, from, to string, want bool) {
		t.Helper()
		if got := n.Reachable(from, to); got != want {
			t.Fatalf("%s: Reachable(%s, %s) = %v, want %v", what, from, to, got, want)
		}
	}
	check("healthy", "a", "b", true)
	n.SetDrop("a", "b", 1)
	check("drop rate", "a", "b", true)
	n.Partition([]string{"a"})
	check("partitioned", "a", "b", false)
	check("partitioned, reverse", "b", "a", false)
	check("same side", "b", "c", true)
	n.Heal()
	n.Unregister("b")
	check("b down", "a", "b", false)
	check("from down b", "b", "a", true)
	n.Close()
	check("closed", "b", "a", false)
}
