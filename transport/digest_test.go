package transport

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// digestFetcher is a copy of replica.DigestFetcher, the optional
// capability of a replica.Transport that Peers offers.
type digestFetcher interface {
	FetchDigest(ctx context.Context, node string, partition uint32, key []byte) (uint64, error)
}

var _ digestFetcher = (*Peers)(nil)

func TestFetchDigest(t *testing.T) {
	f := newFakeNode()
	p := startPeer(t, f, PeersConfig{})
	ctx := context.Background()
	want := testSet("x", "hello")
	if err := p.Replicate(ctx, "b", 3, []byte("k"), want, true, ""); err != nil {
		t.Fatalf("Replicate: %v", err)
	}
	if d, err := p.FetchDigest(ctx, "b", 3, []byte("k")); err != nil || d != want.Digest() {
		t.Errorf("FetchDigest k = %x, %v; want %x, nil", d, err, want.Digest())
	}
	if d, err := p.FetchDigest(ctx, "b", 3, []byte("missing")); err != nil || d != 0 {
		t.Errorf("FetchDigest missing = %x, %v; want 0, nil", d, err)
	}
	if _, err := p.FetchDigest(ctx, "b", 3, []byte("bad1")); !isRemote(err, "bad1") {
		t.Errorf("FetchDigest bad1: got %v, want ErrRemote naming the key", err)
	}
	if st := p.Stats().Peers["b"]; st.DigestItems != 3 || st.FetchItems != 3 {
		t.Errorf("stats: %d digest items of %d fetch items, want 3 of 3", st.DigestItems, st.FetchItems)
	}
}

// TestFetchDigestIncomplete checks that a node still receiving the
// partition answers its digest with an *IncompleteError, as Fetch does.
func TestFetchDigestIncomplete(t *testing.T) {
	f := newFakeNode()
	f.fetch = func(b *pb.FetchBatch) (*pb.FetchReplies, error) {
		out := &pb.FetchReplies{Replies: make([]*pb.FetchReply, len(b.Items))}
		for i := range b.Items {
			out.Replies[i] = &pb.FetchReply{Digest: 42, Incomplete: true}
		}
		return out, nil
	}
	p := startPeer(t, f, PeersConfig{})
	d, err := p.FetchDigest(context.Background(), "b", 0, []byte("k"))
	var ie *IncompleteError
	if !errors.As(err, &ie) || !ie.Partial() || d != 42 {
		t.Errorf("FetchDigest = %d, %v; want 42 with an *IncompleteError", d, err)
	}
}

// TestDigestsRideWithFetches queues digest and data reads behind a held
// RPC and checks that they leave together in one batch, each caller
// getting its own answer.
func TestDigestsRideWithFetches(t *testing.T) {
	f := newFakeNode()
	p := startPeer(t, f, PeersConfig{MaxInFlight: 1})
	ctx := context.Background()
	want := testSet("x", "v")
	if err := p.Replicate(ctx, "b", 0, []byte("k"), want, false, ""); err != nil {
		t.Fatal(err)
	}
	f.block, f.entered = make(chan struct{}), make(chan struct{}, 1)
	first := make(chan error, 1)
	go func() {
		_, err := p.Fetch(ctx, "b", 0, []byte("k"))
		first <- err
	}()
	waitEntered(t, f)
	const n = 10
	sets := make([]vclock.Set, n)
	digests := make([]uint64, n)
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { sets[i], errs[i] = p.Fetch(ctx, "b", 0, []byte("k")) })
		wg.Go(func() { digests[i], errs[n+i] = p.FetchDigest(ctx, "b", 0, []byte("k")) })
	}
	chorustest.Eventually(t, "calls to queue", func() bool { return queued(p, "b") == 2*n })
	close(f.block)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	for i := range n {
		if errs[i] != nil || !sets[i].Equal(want) {
			t.Errorf("Fetch %d = %v, %v; want the set", i, sets[i], errs[i])
		}
		if errs[n+i] != nil || digests[i] != want.Digest() {
			t.Errorf("FetchDigest %d = %x, %v; want %x", i, digests[i], errs[n+i], want.Digest())
		}
	}
	if st := p.Stats().Peers["b"]; st.FetchBatches != 2 || st.FetchItems != 2*n+1 || st.DigestItems != n {
		t.Errorf("stats: %d fetch batches, %d items, %d digests; want 2, %d, %d", st.FetchBatches, st.FetchItems, st.DigestItems, 2*n+1, n)
	}
}

// TestFetchDigestFromOlderNode: a node that predates digest reads
// answers a digest item with its set; FetchDigest digests the set rather
// than reading the absent digest as 0, a node without the key.
func TestFetchDigestFromOlderNode(t *testing.T) {
	want := testSet("x", "v")
	f := newFakeNode()
	f.fetch = func(b *pb.FetchBatch) (*pb.FetchReplies, error) {
		out := &pb.FetchReplies{Replies: make([]*pb.FetchReply, len(b.Items))}
		for i := range b.Items {
			out.Replies[i] = &pb.FetchReply{Set: want.Encode()}
		}
		return out, nil
	}
	p := startPeer(t, f, PeersConfig{})
	if d, err := p.FetchDigest(context.Background(), "b", 0, []byte("k")); err != nil || d != want.Digest() {
		t.Errorf("FetchDigest = %x, %v; want %x, nil", d, err, want.Digest())
	}
}
