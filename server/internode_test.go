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
