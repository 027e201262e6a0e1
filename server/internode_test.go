package server_test

import (
	"testing"
	"time"

	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// TestReplicateStampsVisibility: a replica answers a batch with one ack
// per item and the time its writes became visible; an empty batch gets
// no acks and no stamp, and does not bring the node down.
func TestReplicateStampsVisibility(t *testing.T) {
	c := newTestCluster(t, 31, "a", "b", "c")
	in := c.Net.Internode("a", "b")
	empty, err := in.Replicate(ctxT(t), &pb.ReplicateBatch{From: "a"})
	if err != nil || len(empty.GetErrors()) != 0 || empty.GetAtUnixNano() != 0 {
		t.Fatalf("empty batch: %v, %v; want no acks and no stamp", empty, err)
	}
	set := vclock.NewSet("a", vclock.Value{Data: []byte("v")})
	before := time.Now().UnixNano()
	acks, err := in.Replicate(ctxT(t), &pb.ReplicateBatch{From: "a", Items: []*pb.ReplicateItem{
		{Partition: 1, Key: []byte("k1"), Set: set.Encode(), Durable: true},
		{Partition: 2, Key: []byte("k2"), Set: []byte("not a set")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if errs := acks.GetErrors(); len(errs) != 2 || errs[0] != "" || errs[1] == "" {
		t.Errorf("acks %q: want the first stored and the second refused", errs)
	}
	if at := acks.GetAtUnixNano(); at < before || at > time.Now().UnixNano() {
		t.Errorf("stamp %d outside the call [%d, now]", at, before)
	}
	if per := acks.GetVisibleUnixNanos(); len(per) != 2 || per[0] != acks.GetAtUnixNano() || per[1] != 0 {
		t.Errorf("per-item stamps %v: want the stored item's (the batch's stamp) and 0 for the refused one", per)
	}
}

// TestFetchAnswersDigests: a Fetch batch may mix data and digest items;
// each digest item is answered with the digest of the stored set (0 for
// an absent key) and no set.
func TestFetchAnswersDigests(t *testing.T) {
	c := newTestCluster(t, 32, "a", "b", "c")
	in := c.Net.Internode("a", "b")
	set := vclock.NewSet("a", vclock.Value{Data: []byte("v")})
	acks, err := in.Replicate(ctxT(t), &pb.ReplicateBatch{From: "a", Items: []*pb.ReplicateItem{
		{Partition: 1, Key: []byte("k1"), Set: set.Encode()}}})
	if err != nil || acks.GetErrors()[0] != "" {
		t.Fatalf("Replicate: %v, %v", acks, err)
	}
	rep, err := in.Fetch(ctxT(t), &pb.FetchBatch{From: "a", Items: []*pb.FetchItem{
		{Partition: 1, Key: []byte("k1"), DigestOnly: true},
		{Partition: 1, Key: []byte("k1")},
		{Partition: 1, Key: []byte("absent"), DigestOnly: true},
	}})
	if err != nil || len(rep.GetReplies()) != 3 {
		t.Fatalf("Fetch: %v, %v; want 3 replies", rep, err)
	}
	r := rep.GetReplies()
	if r[0].GetDigest() != set.Digest() || len(r[0].GetSet()) != 0 || r[0].GetError() != "" {
		t.Errorf("digest item: %v; want digest %x and no set", r[0], set.Digest())
	}
	if got, err := vclock.Decode(r[1].GetSet()); err != nil || !got.Equal(set) || r[1].GetDigest() != 0 {
		t.Errorf("data item: %v (%v); want the set and no digest", r[1], err)
	}
	if r[2].GetDigest() != 0 || r[2].GetError() != "" {
		t.Errorf("absent digest item: %v; want digest 0", r[2])
	}
}
