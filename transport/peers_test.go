package transport

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// replicaTransport is a copy of replica.Transport, which this package must
// satisfy without importing replica.
type replicaTransport interface {
	Replicate(ctx context.Context, node string, partition uint32, key []byte, set vclock.Set, durable bool, hintFor string) error
	Fetch(ctx context.Context, node string, partition uint32, key []byte) (vclock.Set, error)
}

var _ replicaTransport = (*Peers)(nil)

// TestReplicateBatches queues many calls behind a held RPC and checks that
// they leave in one batch and that each caller gets its own answer.
func TestReplicateBatches(t *testing.T) { forEachMode(t, testReplicateBatches) }

func testReplicateBatches(t *testing.T, unary bool) {
	f := newFakeNode()
	f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
	p := startPeer(t, f, PeersConfig{MaxInFlight: 1, Unary: unary})
	ctx := context.Background()

	first := make(chan error, 1)
	go func() { first <- p.Replicate(ctx, "b", 0, []byte("k0"), testSet("self", "v"), true, "") }()
	waitEntered(t, f)

	const n = 100
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		key := fmt.Sprintf("k%d", i+1)
		if i%7 == 0 {
			key = fmt.Sprintf("bad%d", i+1)
		}
		wg.Go(func() { errs[i] = p.Replicate(ctx, "b", uint32(i), []byte(key), testSet("self", key), false, "") })
	}
	chorustest.Eventually(t, "calls to queue", func() bool { return queued(p, "b") == n })
	close(f.block)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first Replicate: %v", err)
	}

	for i, err := range errs {
		if i%7 == 0 {
			key := fmt.Sprintf("bad%d", i+1)
			if !isRemote(err, key) {
				t.Errorf("call %d (%s): got %v, want ErrRemote naming its key", i, key, err)
			}
		} else if err != nil {
			t.Errorf("call %d: got %v, want nil", i, err)
		}
	}
	rpcs, items, _ := f.counts()
	if rpcs != 2 || items != n+1 {
		t.Errorf("server got %d RPCs with %d items, want 2 RPCs with %d items", rpcs, items, n+1)
	}
	st := p.Stats().Peers["b"]
	if st.ReplicateBatches != 2 || st.ReplicateItems != n+1 {
		t.Errorf("stats: %d batches, %d items; want 2, %d", st.ReplicateBatches, st.ReplicateItems, n+1)
	}
	if wantErrs := uint64((n + 6) / 7); st.ItemErrors != wantErrs || st.RPCErrors != 0 {
		t.Errorf("stats: %d item errors, %d rpc errors; want %d, 0", st.ItemErrors, st.RPCErrors, wantErrs)
	}
	if from := f.senders(); len(from) != 1 || from[0] != "self" {
		t.Errorf("server saw senders %v, want only self", from)
	}
	// The stored sets are the callers' own.
	for i := 1; i <= n; i += 10 {
		if i%7 == 0 {
			continue
		}
		key := fmt.Sprintf("k%d", i+1)
		got, err := p.Fetch(ctx, "b", 0, []byte(key))
		if err != nil || !got.Equal(testSet("self", key)) {
			t.Errorf("Fetch %s = %v, %v; want the set written", key, got, err)
		}
	}
}

// TestReplicateBatchLimits checks MaxBatch and MaxBatchBytes.
func TestReplicateBatchLimits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      PeersConfig
		dataSize int
		wantMax  int
	}{
		{"items", PeersConfig{MaxInFlight: 1, MaxBatch: 8}, 10, 8},
		{"bytes", PeersConfig{MaxInFlight: 1, MaxBatchBytes: 3000}, 1000, 2},
		{"oversized item goes alone", PeersConfig{MaxInFlight: 1, MaxBatchBytes: 100}, 1000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNode()
			f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
			p := startPeer(t, f, tc.cfg)
			ctx := context.Background()
			data := strings.Repeat("x", tc.dataSize)

			const n = 30
			errs := make(chan error, n+1)
			go func() { errs <- p.Replicate(ctx, "b", 0, []byte("first"), testSet("self", data), false, "") }()
			waitEntered(t, f)
			for i := range n {
				go func() {
					errs <- p.Replicate(ctx, "b", 0, fmt.Appendf(nil, "k%d", i), testSet("self", data), false, "")
				}()
			}
			chorustest.Eventually(t, "calls to queue", func() bool { return queued(p, "b") == n })
			close(f.block)
			for range n + 1 {
				if err := <-errs; err != nil {
					t.Fatalf("Replicate: %v", err)
				}
			}
			rpcs, items, maxBatch := f.counts()
			if maxBatch != tc.wantMax || items != n+1 {
				t.Errorf("largest batch %d of %d items in %d RPCs, want largest %d of %d",
					maxBatch, items, rpcs, tc.wantMax, n+1)
			}
		})
	}
}

// TestReplicateSeededMix runs a random mix of good, rejected and abandoned
// calls through one held batch.
func TestReplicateSeededMix(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			f := newFakeNode()
			f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
			p := startPeer(t, f, PeersConfig{MaxInFlight: 1, MaxBatch: 1 + rng.IntN(64)})

			go p.Replicate(context.Background(), "b", 0, []byte("first"), testSet("self", "v"), false, "")
			waitEntered(t, f)

			const n = 200
			type kindOf int
			const (
				good kindOf = iota
				bad
				abandoned
			)
			kinds := make([]kindOf, n)
			cancels := make([]context.CancelFunc, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				kinds[i] = kindOf(rng.IntN(3))
				ctx, cancel := context.WithCancel(context.Background())
				cancels[i] = cancel
				key := fmt.Sprintf("k%d", i)
				if kinds[i] == bad {
					key = fmt.Sprintf("bad%d", i)
				}
				wg.Go(func() { errs[i] = p.Replicate(ctx, "b", 0, []byte(key), testSet("self", key), false, "") })
			}
			chorustest.Eventually(t, "calls to queue", func() bool { return queued(p, "b") == n })
			skipped := 0
			for i, k := range kinds {
				if k == abandoned {
					cancels[i]()
					skipped++
				}
			}
			close(f.block)
			wg.Wait()
			for i, err := range errs {
				cancels[i]()
				key := fmt.Sprintf("k%d", i)
				switch kinds[i] {
				case good:
					if stored := f.stored(key) != nil; err != nil || !stored {
						t.Errorf("seed %d: call %d: got %v (stored %t), want nil and stored", seed, i, err, stored)
					}
				case bad:
					if !isRemote(err, fmt.Sprintf("bad%d", i)) {
						t.Errorf("seed %d: call %d: got %v, want ErrRemote naming its key", seed, i, err)
					}
				case abandoned:
					if sent := f.wasSeen(key); !errors.Is(err, context.Canceled) || sent {
						t.Errorf("seed %d: call %d: got %v (sent %t), want context.Canceled and not sent", seed, i, err, sent)
					}
				}
			}
			if got := p.Stats().Peers["b"].Skipped; got != uint64(skipped) {
				t.Errorf("seed %d: Skipped = %d, want %d", seed, got, skipped)
			}
		})
	}
}

// TestReplicateCallerDeadline checks that a caller whose context expires
// returns at once while its RPC hangs, and that the late answers block
// nobody.
func TestReplicateCallerDeadline(t *testing.T) { forEachMode(t, testReplicateCallerDeadline) }

func testReplicateCallerDeadline(t *testing.T, unary bool) {
	f := newFakeNode()
	f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
	p := startPeer(t, f, PeersConfig{MaxInFlight: 2, Unary: unary})

	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			err := p.Replicate(ctx, "b", 0, fmt.Appendf(nil, "k%d", i), testSet("self", "v"), false, "")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("call %d: got %v, want context.DeadlineExceeded", i, err)
			}
		})
	}
	wg.Wait()
	close(f.block) // the late answers go nowhere
	if err := p.Replicate(context.Background(), "b", 0, []byte("after"), testSet("self", "v"), false, ""); err != nil {
		t.Fatalf("Replicate after the deadlines: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestUnreachable(t *testing.T) { forEachMode(t, testUnreachable) }

func testUnreachable(t *testing.T, unary bool) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().String()
	lis.Close()
	p := newTestPeers(t, map[string]string{"dead": dead}, PeersConfig{Unary: unary})
	ctx := context.Background()

	err = p.Replicate(ctx, "dead", 0, []byte("k"), testSet("self", "v"), false, "")
	if !errors.Is(err, ErrUnreachable) || status.Code(err) != codes.Unavailable {
		t.Errorf("Replicate to a closed port: got %v (code %v), want ErrUnreachable, Unavailable", err, status.Code(err))
	}
	_, err = p.Fetch(ctx, "dead", 0, []byte("k"))
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("Fetch from a closed port: got %v, want ErrUnreachable", err)
	}
	err = p.Replicate(ctx, "nobody", 0, []byte("k"), testSet("self", "v"), false, "")
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("Replicate to an unknown node: got %v, want ErrUnreachable naming it", err)
	}
	if st := p.Stats().Total; st.RPCErrors != 3 || st.ItemErrors != 3 {
		t.Errorf("stats: %d rpc errors, %d item errors; want 3, 3", st.RPCErrors, st.ItemErrors)
	}
}

func TestFetch(t *testing.T) { forEachMode(t, testFetch) }

func testFetch(t *testing.T, unary bool) {
	f := newFakeNode()
	p := startPeer(t, f, PeersConfig{Unary: unary})
	ctx := context.Background()
	want, err := testSet("x", "hello").Update(vclock.Clock{}, "y", vclock.Value{Tombstone: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Replicate(ctx, "b", 3, []byte("k"), want, true, "c"); err != nil {
		t.Fatalf("Replicate: %v", err)
	}
	got, err := p.Fetch(ctx, "b", 3, []byte("k"))
	if err != nil || !got.Equal(want) {
		t.Errorf("Fetch k = %v, %v; want %v, nil", got, err, want)
	}
	got, err = p.Fetch(ctx, "b", 3, []byte("missing"))
	if err != nil || !got.IsEmpty() {
		t.Errorf("Fetch missing = %v, %v; want empty, nil", got, err)
	}
	if _, err := p.Fetch(ctx, "b", 3, []byte("bad1")); !isRemote(err, "bad1") {
		t.Errorf("Fetch bad1: got %v, want ErrRemote naming the key", err)
	}
	_, err = p.Fetch(ctx, "b", 3, []byte("garbage"))
	if !errors.Is(err, ErrRemote) || !errors.Is(err, vclock.ErrMalformed) {
		t.Errorf("Fetch garbage: got %v, want ErrRemote and vclock.ErrMalformed", err)
	}
}

// TestWrongAnswerCount checks that a reply with too few answers fails
// every item instead of panicking or misattributing answers.
func TestWrongAnswerCount(t *testing.T) { forEachMode(t, testWrongAnswerCount) }

func testWrongAnswerCount(t *testing.T, unary bool) {
	f := newFakeNode()
	f.replicate = func(b *pb.ReplicateBatch) (*pb.ReplicateAcks, error) {
		return &pb.ReplicateAcks{Errors: make([]string, len(b.Items)-1)}, nil
	}
	f.fetch = func(b *pb.FetchBatch) (*pb.FetchReplies, error) {
		return &pb.FetchReplies{Replies: make([]*pb.FetchReply, len(b.Items)+1)}, nil
	}
	p := startPeer(t, f, PeersConfig{Unary: unary})
	ctx := context.Background()
	if err := p.Replicate(ctx, "b", 0, []byte("k"), testSet("self", "v"), false, ""); !errors.Is(err, ErrRemote) {
		t.Errorf("Replicate with 0 acks for 1 item: got %v, want ErrRemote", err)
	}
	if _, err := p.Fetch(ctx, "b", 0, []byte("k")); !errors.Is(err, ErrRemote) {
		t.Errorf("Fetch with 2 replies for 1 item: got %v, want ErrRemote", err)
	}
}

// TestOversizedMessage sends a batch over the server's limit, then checks
// that the server still serves.
func TestOversizedMessage(t *testing.T) {
	f := newFakeNode()
	_, addr := startServer(t, nil, f, ServerConfig{MaxRecvMsgSize: 64 << 10})
	p := newTestPeers(t, map[string]string{"b": addr}, PeersConfig{})
	ctx := context.Background()

	big := testSet("self", strings.Repeat("x", 128<<10))
	err := p.Replicate(ctx, "b", 0, []byte("big"), big, false, "")
	if !errors.Is(err, ErrUnreachable) || status.Code(err) != codes.ResourceExhausted {
		t.Errorf("oversized Replicate: got %v (code %v), want ErrUnreachable, ResourceExhausted", err, status.Code(err))
	}
	if err := p.Replicate(ctx, "b", 0, []byte("small"), testSet("self", "v"), false, ""); err != nil {
		t.Errorf("Replicate after the oversized one: %v", err)
	}
}

// TestPeersClose holds one RPC, queues more calls and closes: every call
// fails with ErrClosed and Close returns.
func TestPeersClose(t *testing.T) { forEachMode(t, testPeersClose) }

func testPeersClose(t *testing.T, unary bool) {
	f := newFakeNode()
	f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
	defer close(f.block)
	p := startPeer(t, f, PeersConfig{MaxInFlight: 1, Unary: unary})
	ctx := context.Background()

	const n = 5
	errs := make(chan error, n+1)
	go func() { errs <- p.Replicate(ctx, "b", 0, []byte("held"), testSet("self", "v"), false, "") }()
	waitEntered(t, f)
	for i := range n {
		go func() {
			_, err := p.Fetch(ctx, "b", 0, fmt.Appendf(nil, "k%d", i))
			errs <- err
		}()
		go func() { errs <- p.Replicate(ctx, "b", 0, fmt.Appendf(nil, "k%d", i), testSet("self", "v"), false, "") }()
	}
	// One Fetch takes the Fetch lane's slot and is held too; the other
	// calls queue.
	chorustest.Eventually(t, "calls to queue", func() bool {
		return queued(p, "b") == 2*n-1
	})
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := range 2*n + 1 {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Errorf("call %d: got %v, want ErrClosed", i, err)
		}
	}
	if err := p.Replicate(ctx, "b", 0, []byte("late"), testSet("self", "v"), false, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Replicate after Close: got %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := NewPeers("a", func(string) (pb.InternodeClient, error) { return nil, nil }, PeersConfig{MaxBatch: -1}); err == nil || !strings.HasPrefix(err.Error(), "transport: ") || !strings.Contains(err.Error(), "MaxBatch") {
		t.Errorf("NewPeers with MaxBatch -1: got %v, want a transport: error naming MaxBatch", err)
	}
	if _, err := NewPeers("a", nil, PeersConfig{}); err == nil {
		t.Error("NewPeers with a nil Dialer: got nil error")
	}
	if _, err := NewServer(nil, nil, ServerConfig{StopTimeout: -1}); err == nil || !strings.Contains(err.Error(), "StopTimeout") {
		t.Errorf("NewServer with StopTimeout -1: got %v, want an error naming StopTimeout", err)
	}
	if _, err := NewPool(PoolConfig{MaxSendMsgSize: -5}); err == nil || !strings.Contains(err.Error(), "MaxSendMsgSize") {
		t.Errorf("NewPool with MaxSendMsgSize -5: got %v, want an error naming MaxSendMsgSize", err)
	}
	for _, err := range []error{DefaultPeersConfig().Validate(), DefaultServerConfig().Validate(), DefaultPoolConfig().Validate()} {
		if err != nil {
			t.Errorf("a default config is invalid: %v", err)
		}
	}
}

// TestFetchIncomplete checks that a reply marked incomplete returns its set
// with an *IncompleteError, which is not an item failure, while the other
// items of the same batch are unaffected.
func TestFetchIncomplete(t *testing.T) {
	want := testSet("x", "old")
	f := newFakeNode()
	f.fetch = func(b *pb.FetchBatch) (*pb.FetchReplies, error) {
		out := &pb.FetchReplies{Replies: make([]*pb.FetchReply, len(b.Items))}
		for i, it := range b.Items {
			switch k := string(it.Key); {
			case strings.HasPrefix(k, "partial-empty"):
				out.Replies[i] = &pb.FetchReply{Incomplete: true}
			case strings.HasPrefix(k, "partial-garbage"):
				out.Replies[i] = &pb.FetchReply{Set: []byte{0xff, 0x01}, Incomplete: true}
			case strings.HasPrefix(k, "partial"):
				out.Replies[i] = &pb.FetchReply{Set: want.Encode(), Incomplete: true}
			default:
				out.Replies[i] = &pb.FetchReply{Set: want.Encode()}
			}
		}
		return out, nil
	}
	p := startPeer(t, f, PeersConfig{})
	ctx := context.Background()

	got, err := p.Fetch(ctx, "b", 0, []byte("partial"))
	var ie *IncompleteError
	if !errors.As(err, &ie) || ie.Node != "b" || !ie.Partial() {
		t.Fatalf("Fetch partial: err %v, want an *IncompleteError for node b with Partial true", err)
	}
	var partial interface{ Partial() bool }
	if !errors.As(err, &partial) || !partial.Partial() {
		t.Errorf("Fetch partial: err %v does not satisfy interface{ Partial() bool }", err)
	}
	if errors.Is(err, ErrRemote) || errors.Is(err, ErrUnreachable) {
		t.Errorf("Fetch partial: err %v wraps a failure sentinel, want neither ErrRemote nor ErrUnreachable", err)
	}
	if !got.Equal(want) {
		t.Errorf("Fetch partial: set %v, want %v (the set must come with the error)", got, want)
	}

	got, err = p.Fetch(ctx, "b", 0, []byte("partial-empty"))
	if !errors.As(err, &ie) || !got.IsEmpty() {
		t.Errorf("Fetch partial-empty = %v, %v; want empty and an *IncompleteError", got, err)
	}
	if _, err := p.Fetch(ctx, "b", 0, []byte("partial-garbage")); !errors.Is(err, ErrRemote) || errors.As(err, &ie) {
		t.Errorf("Fetch partial-garbage: got %v, want ErrRemote and no *IncompleteError", err)
	}

	got, err = p.Fetch(ctx, "b", 0, []byte("complete"))
	if err != nil || !got.Equal(want) {
		t.Errorf("Fetch complete = %v, %v; want %v, nil", got, err, want)
	}
	if st := p.Stats().Peers["b"]; st.ItemErrors != 0 || st.FetchItems != 4 {
		t.Errorf("stats: %d item errors of %d fetch items; want 0 of 4 (a partial answer is no failure)", st.ItemErrors, st.FetchItems)
	}
}

// forEachMode runs test with batches on the peer's stream and as unary
// RPCs.
func forEachMode(t *testing.T, test func(t *testing.T, unary bool)) {
	t.Run("stream", func(t *testing.T) { test(t, false) })
	t.Run("unary", func(t *testing.T) { test(t, true) })
}
