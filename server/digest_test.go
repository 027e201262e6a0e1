package server_test

import (
	"slices"
	"testing"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// notPrimary returns a node of ids that is not a primary of key.
func (c *testCluster) notPrimary(key string) string {
	prim := c.Primaries(key)
	for _, id := range c.IDs {
		if !slices.Contains(prim, id) {
			return id
		}
	}
	c.t.Fatalf("every node is a primary of %q", key)
	return ""
}

// fetchDelta waits until node's Fetch traffic since before has carried
// want items, and returns how many of them were digests.
func (c *testCluster) fetchDelta(node string, before transport.PeerStats, want uint64) (items, digests uint64) {
	c.t.Helper()
	var now transport.PeerStats
	chorustest.Eventually(c.t, node+"'s fetch items", func() bool {
		now = c.Nodes[node].PeerStats().Total
		return now.FetchItems-before.FetchItems >= want
	})
	return now.FetchItems - before.FetchItems, now.DigestItems - before.DigestItems
}

// TestDigestReadsOnTheWire: on replicas that agree, a read (N=3, R=2)
// asks two replicas and sends one set over the network at most: one
// digest when the coordinator is a replica (its own copy is the data),
// one set and one digest when it is not. R=1 on a replica sends nothing.
// read_repair=all asks every replica for its set.
func TestDigestReadsOnTheWire(t *testing.T) {
	c := newTestCluster(t, 41, five...)
	const key = "dk"
	prim := c.Primaries(key)
	other := c.notPrimary(key)
	if _, err := c.put(prim[0], key, "v", "", &pb.Quorum{W: 3}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		via              string
		mode             string
		r                uint32
		fetches, digests uint64
	}{
		{prim[0], "", 0, 1, 1},
		{other, "", 0, 2, 1},
		{prim[0], "", 1, 0, 0},
		{prim[0], "all", 0, 2, 0},
		{other, "all", 0, 3, 0},
	} {
		before := c.Nodes[tt.via].PeerStats().Total
		got, err := c.get(tt.via, key, &pb.Quorum{R: tt.r, ReadRepair: tt.mode})
		if err != nil || !got.Found || !slices.Equal(values(got), []string{"v"}) {
			t.Fatalf("get via %s (r=%d read_repair=%q) = %v, %v; want v", tt.via, tt.r, tt.mode, got, err)
		}
		items, digests := c.fetchDelta(tt.via, before, tt.fetches)
		if items != tt.fetches || digests != tt.digests {
			t.Errorf("get via %s (r=%d read_repair=%q): %d fetch items, %d of them digests; want %d and %d",
				tt.via, tt.r, tt.mode, items, digests, tt.fetches, tt.digests)
		}
	}
	for _, id := range []string{prim[0], other} {
		if st := c.Nodes[id].Status().Requests; st.DigestMismatches != 0 || st.DigestReads != 1 {
			t.Errorf("%s: %d digest reads, %d mismatches; want 1 and 0", id, st.DigestReads, st.DigestMismatches)
		}
	}
}

// TestDigestReadStandby: the replica a read started beside the
// coordinator cannot be reached; the third primary, held back, is asked
// for a digest in its place and the read answers from two primaries.
func TestDigestReadStandby(t *testing.T) {
	c := newTestCluster(t, 45, five...)
	const key = "sk"
	prim := c.Primaries(key)
	if _, err := c.put(prim[0], key, "v", "", &pb.Quorum{W: 3}); err != nil {
		t.Fatal(err)
	}
	c.Net.SetDrop(prim[0], prim[1], 1) // the failure detector ignores drops: prim[1] looks alive
	got, err := c.get(prim[0], key, &pb.Quorum{Pr: 2})
	if err != nil || !slices.Equal(values(got), []string{"v"}) {
		t.Fatalf("get via %s with %s unreachable = %v, %v; want v", prim[0], prim[1], got, err)
	}
	if st := c.Nodes[prim[0]].Status().Requests; st.DigestReads != 2 || st.Sloppy != 0 {
		t.Errorf("%d digest reads, %d sloppy; want 2 (the lost one and the standby's) and 0", st.DigestReads, st.Sloppy)
	}
}

// TestDigestReadMismatchRepairs: a replica holding a sibling the others
// lack is found by its digest; the answer has its sibling, and read
// repair gives it to every replica.
func TestDigestReadMismatchRepairs(t *testing.T) {
	c := newTestCluster(t, 42, five...)
	const key = "mk"
	prim := c.Primaries(key)
	if _, err := c.put(prim[0], key, "v", "", &pb.Quorum{W: 3}); err != nil {
		t.Fatal(err)
	}
	fresh := vclock.NewSet("elsewhere", vclock.Value{Data: []byte("fresh")}) // concurrent with v
	p := c.Nodes[prim[0]].Ring().Partition([]byte(key))
	acks, err := c.Net.Internode(prim[0], prim[1]).Replicate(ctxT(t), &pb.ReplicateBatch{From: prim[0],
		Items: []*pb.ReplicateItem{{Partition: p, Key: []byte(key), Set: fresh.Encode()}}})
	if err != nil || acks.GetErrors()[0] != "" {
		t.Fatalf("stage the sibling on %s: %v, %v", prim[1], acks, err)
	}
	got, err := c.get(prim[0], key, &pb.Quorum{R: 3})
	if err != nil || !slices.Equal(values(got), []string{"fresh", "v"}) {
		t.Fatalf("get = %v, %v; want both siblings", got, err)
	}
	if st := c.Nodes[prim[0]].Status().Requests; st.DigestMismatches != 1 {
		t.Errorf("%d digest mismatches, want 1", st.DigestMismatches)
	}
	c.waitConverged(key)
	if sets := c.replicaSets(key); len(sets[prim[2]].Values()) != 2 {
		t.Errorf("%s holds %d values after read repair, want 2", prim[2], len(sets[prim[2]].Values()))
	}
}

// TestDigestReadDataReplicaUnreachable: the replica a non-replica
// coordinator asks for the set cannot be reached; the replicas that sent
// digests are asked for theirs and the read answers with the data.
func TestDigestReadDataReplicaUnreachable(t *testing.T) {
	c := newTestCluster(t, 43, five...)
	const key = "uk"
	prim := c.Primaries(key)
	other := c.notPrimary(key)
	if _, err := c.put(prim[0], key, "v", "", &pb.Quorum{W: 3}); err != nil {
		t.Fatal(err)
	}
	c.Net.SetDrop(other, prim[0], 1) // the failure detector ignores drops: prim[0] looks alive
	got, err := c.get(other, key, nil)
	if err != nil || !slices.Equal(values(got), []string{"v"}) {
		t.Fatalf("get via %s with %s unreachable = %v, %v; want v", other, prim[0], got, err)
	}
	if st := c.Nodes[other].Status().Requests; st.DigestMismatches == 0 {
		t.Error("no replica that sent a digest was asked for its set")
	}
}

// TestReadRepairParamInvalid: the gRPC API refuses a read_repair other
// than digest or all.
func TestReadRepairParamInvalid(t *testing.T) {
	c := newTestCluster(t, 44, "a", "b", "c")
	_, err := c.get("a", "k", &pb.Quorum{ReadRepair: "bogus"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("get with read_repair=bogus: %v, want InvalidArgument", err)
	}
}
