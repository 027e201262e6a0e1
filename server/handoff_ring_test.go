package server

import (
	"testing"

	"github.com/chorusdb/chorus/gossip"
	"github.com/chorusdb/chorus/ring"
)

// ringBefore decides what a node with no handoff state pulls: nothing when
// it founded the cluster, its partitions when it joined later or when its
// data was wiped.
func TestRingBefore(t *testing.T) {
	rec := func(id string, joined uint64) gossip.MemberRecord {
		return gossip.MemberRecord{ID: id, Weight: 1, Status: gossip.StatusActive, Placed: true, Joined: joined, Version: 1}
	}
	for _, tt := range []struct {
		name string
		recs []gossip.MemberRecord
		want int // size of the ring before; 0 for nil
	}{
		{"alone", []gossip.MemberRecord{rec("a", 1)}, 0},
		{"founders of one epoch", []gossip.MemberRecord{rec("a", 0), rec("b", 0), rec("c", 0)}, 0},
		{"joined third", []gossip.MemberRecord{rec("x", 1), rec("y", 2), rec("a", 3)}, 2},
		{"founder wiped, others joined later", []gossip.MemberRecord{rec("a", 1), rec("y", 2), rec("z", 3)}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ringBefore("a", tt.recs, ring.Config{Partitions: 16, Replicas: 3})
			size := 0
			if got != nil {
				size = got.Size()
			}
			if size != tt.want {
				t.Fatalf("ring before has %d members, want %d", size, tt.want)
			}
		})
	}
}
