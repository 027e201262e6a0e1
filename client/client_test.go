package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/transport/pb"
)

func TestRoutingToFirstPrimary(t *testing.T) {
	fc := newFakeCluster(t, 4, 16, 3)
	c := newClient(t, fc, nil)
	ctx := testCtx(t)
	want := map[string]int{} // node id -> puts expected
	for i := range 64 {
		key := fmt.Appendf(nil, "key-%d", i)
		p := ring.PartitionOf(key, 16)
		first := fc.nodes[p%4] // owners of p are p%n, (p+1)%n, ...
		want[first.id]++
		res, err := c.Put(ctx, key, []byte("v"))
		if err != nil {
			t.Fatalf("Put %s: %v", key, err)
		}
		if got := res.Causal; got != Causal("put@"+first.id) {
			t.Errorf("Put %s answered by %q, want first primary %s", key, got, first.id)
		}
		g, err := c.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get %s: %v", key, err)
		}
		if got := mustValue(t, g); got != "v@"+first.id {
			t.Errorf("Get %s answered by %q, want first primary %s", key, got, first.id)
		}
	}
	for _, n := range fc.nodes {
		gets, puts, _ := n.counts()
		if puts != want[n.id] || gets != want[n.id] {
			t.Errorf("node %s got %d gets, %d puts; want %d each", n.id, gets, puts, want[n.id])
		}
		for _, r := range n.puts {
			if p := ring.PartitionOf(r.Key, 16); fc.nodes[p%4] != n {
				t.Errorf("node %s received key %q of partition %d", n.id, r.Key, p)
			}
		}
	}
}

func TestRoutingSkipsDeadMember(t *testing.T) {
	fc := newFakeCluster(t, 3, 8, 3)
	key := []byte("k")
	p := ring.PartitionOf(key, 8)
	first, second := fc.nodes[p%3], fc.nodes[(p+1)%3]
	fc.update(func(i *pb.ClusterInfoResponse) { i.Members[p%3].Alive = false })
	c := newClient(t, fc, nil)
	if _, err := c.Put(testCtx(t), key, []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, p1, _ := first.counts(); p1 != 0 {
		t.Errorf("dead first primary got %d puts, want 0", p1)
	}
	if _, p2, _ := second.counts(); p2 != 1 {
		t.Errorf("second primary got %d puts, want 1", p2)
	}
}

func TestEmptyTableUsesEndpoints(t *testing.T) {
	fc := newFakeCluster(t, 2, 8, 2)
	fc.update(func(i *pb.ClusterInfoResponse) { i.Owners = nil; i.Partitions = 0 })
	c := newClient(t, fc, func(c *Config) { c.Endpoints = []string{fc.nodes[1].addr} })
	res, err := c.Get(testCtx(t), []byte("x"))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got := mustValue(t, res); got != "v@n1" {
		t.Errorf("Get answered by %q, want the endpoint n1", got)
	}
}

func TestReadFailoverWhenNodeDown(t *testing.T) {
	fc := newFakeCluster(t, 3, 8, 3)
	c := newClient(t, fc, nil)
	key := []byte("failover")
	prim := fc.primaries(t, c, key)
	prim[0].srv.Stop()
	res, err := c.Get(testCtx(t), key)
	if err != nil {
		t.Fatalf("Get with first primary down: %v", err)
	}
	if got, want := mustValue(t, res), "v@"+prim[1].id; got != want {
		t.Errorf("Get answered %q, want %q (second primary)", got, want)
	}
	// A write whose connection could not be made was never sent: it
	// moves on to the next primary too.
	w, err := c.Put(testCtx(t), key, []byte("v"))
	if err != nil {
		t.Fatalf("Put with first primary down: %v", err)
	}
	if want := Causal("put@" + prim[1].id); w.Causal != want {
		t.Errorf("Put answered by %q, want %q", w.Causal, want)
	}
}

func TestReadRetriedOnUnavailable(t *testing.T) {
	fc := newFakeCluster(t, 3, 8, 3)
	c := newClient(t, fc, func(c *Config) { c.ReadRetries = 1 })
	key := []byte("retry")
	prim := fc.primaries(t, c, key)
	unavailable := func(*pb.GetRequest) (*pb.GetResponse, error) {
		return nil, status.Error(codes.Unavailable, "replica: read quorum not met (1/2)")
	}
	prim[0].setHandlers(func(f *fakeNode) { f.get = unavailable })
	res, err := c.Get(testCtx(t), key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got, want := mustValue(t, res), "v@"+prim[1].id; got != want {
		t.Errorf("Get answered %q, want %q", got, want)
	}
	// With every primary failing, ReadRetries = 1 allows two attempts.
	for _, n := range prim {
		n.setHandlers(func(f *fakeNode) { f.get = unavailable })
	}
	before := totalGets(fc)
	_, err = c.Get(testCtx(t), key)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get error = %v, want ErrUnavailable", err)
	}
	if got := totalGets(fc) - before; got != 2 {
		t.Errorf("%d attempts, want 2 (1 + ReadRetries)", got)
	}
	// Errors that are not transient are not retried.
	prim[0].setHandlers(func(f *fakeNode) {
		f.get = func(*pb.GetRequest) (*pb.GetResponse, error) {
			return nil, status.Error(codes.InvalidArgument, "bad key")
		}
	})
	before = totalGets(fc)
	if _, err := c.Get(testCtx(t), key); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Get error = %v, want ErrInvalid", err)
	}
	if got := totalGets(fc) - before; got != 1 {
		t.Errorf("%d attempts for InvalidArgument, want 1", got)
	}
}

func totalGets(fc *fakeCluster) int {
	n := 0
	for _, f := range fc.nodes {
		g, _, _ := f.counts()
		n += g
	}
	return n
}

func TestWriteNotRetriedAfterSend(t *testing.T) {
	fc := newFakeCluster(t, 3, 8, 3)
	c := newClient(t, fc, nil)
	key := []byte("write-once")
	prim := fc.primaries(t, c, key)
	prim[0].setHandlers(func(f *fakeNode) {
		f.put = func(*pb.PutRequest) (*pb.PutResponse, error) {
			return nil, status.Error(codes.Unavailable, "replica: write quorum not met (1/2)")
		}
		f.del = func(*pb.DeleteRequest) (*pb.DeleteResponse, error) {
			return nil, status.Error(codes.DeadlineExceeded, "replica: write quorum not met in 2s")
		}
	})
	_, err := c.Put(testCtx(t), key, []byte("v"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Put error = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "write quorum not met (1/2)") || !strings.HasPrefix(err.Error(), "client: ") {
		t.Errorf("Put error %q lacks the prefix or the server's message", err)
	}
	if errors.Is(err, ErrNotSent) {
		t.Errorf("Put error %v matches ErrNotSent, but the write was sent", err)
	}
	_, err = c.Delete(testCtx(t), key)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNotSent) {
		t.Fatalf("Delete error = %v, want ErrTimeout and not ErrNotSent", err)
	}
	if !strings.Contains(err.Error(), "may have been applied") {
		t.Errorf("Delete error %q does not say the write may have been applied", err)
	}
	for i, n := range prim {
		_, puts, dels := n.counts()
		want := 0
		if i == 0 {
			want = 1
		}
		if puts != want || dels != want {
			t.Errorf("primary %d (%s) got %d puts, %d deletes; want %d each", i, n.id, puts, dels, want)
		}
	}
}

func TestQuorumOptions(t *testing.T) {
	fc := newFakeCluster(t, 1, 1, 1)
	n := fc.nodes[0]
	ctx := testCtx(t)
	c := newClient(t, fc, nil)
	if _, err := c.Get(ctx, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if q := n.lastGet().GetQuorum(); !proto.Equal(q, &pb.Quorum{}) {
		t.Errorf("no options sent %v, want all zero (server defaults)", q)
	}
	_, err := c.Put(ctx, []byte("k"), []byte("v"), WithN(3), WithR(1), WithW(3), WithPR(1), WithPW(2),
		WithTimeout(1500*time.Millisecond), NotDurable(), WithCausal("ctx-1"))
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.Quorum{N: 3, R: 1, W: 3, Pr: 1, Pw: 2, TimeoutMs: 1500, NotDurable: true}
	p := n.lastPut()
	if !proto.Equal(p.GetQuorum(), want) {
		t.Errorf("sent quorum %v, want %v", p.GetQuorum(), want)
	}
	if p.GetContext() != "ctx-1" || string(p.GetValue()) != "v" || string(p.GetKey()) != "k" {
		t.Errorf("sent put %v, want key k, value v, context ctx-1", p)
	}

	if _, err := c.Get(ctx, []byte("k"), WithReadRepair(ReadRepairAll)); err != nil {
		t.Fatal(err)
	}
	if q := n.lastGet().GetQuorum(); q.GetReadRepair() != "all" {
		t.Errorf("WithReadRepair(all) sent %v, want read_repair all", q)
	}

	// Config.Defaults apply, options override them field by field.
	d := newClient(t, fc, func(c *Config) { c.Defaults = Quorum{N: 5, W: 4, NotDurable: true} })
	if _, err := d.Put(ctx, []byte("k"), []byte("v"), WithW(2)); err != nil {
		t.Fatal(err)
	}
	if q, want := n.lastPut().GetQuorum(), (&pb.Quorum{N: 5, W: 2, NotDurable: true}); !proto.Equal(q, want) {
		t.Errorf("sent quorum %v, want %v", q, want)
	}

	// Impossible settings fail locally, nothing is sent.
	_, puts, _ := n.counts()
	for _, opts := range [][]Option{{WithN(3), WithR(4)}, {WithW(-1)}, {WithN(17)}, {WithR(1), WithPR(2)}, {WithTimeout(-time.Second)}, {WithReadRepair("some")}} {
		if _, err := c.Put(ctx, []byte("k"), []byte("v"), opts...); !errors.Is(err, ErrInvalid) {
			t.Errorf("Put with bad options: error %v, want ErrInvalid", err)
		}
	}
	if _, after, _ := n.counts(); after != puts {
		t.Errorf("bad options sent %d puts, want 0", after-puts)
	}
}

func TestGetSiblingsAndTombstones(t *testing.T) {
	fc := newFakeCluster(t, 1, 1, 1)
	fc.nodes[0].get = func(r *pb.GetRequest) (*pb.GetResponse, error) {
		switch string(r.Key) {
		case "deleted":
			return &pb.GetResponse{Found: false, Context: "tomb",
				Siblings: []*pb.Sibling{{Tombstone: true}}}, nil
		default:
			return &pb.GetResponse{Found: true, Context: "c",
				Siblings: []*pb.Sibling{{Value: []byte("a")}, {Tombstone: true}, {Value: []byte("b")}},
				Info:     &pb.QuorumInfo{Sloppy: true, Replicas: []string{"x", "y"}}}, nil
		}
	}
	c := newClient(t, fc, nil)
	res, err := c.Get(testCtx(t), []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := res.Value(); v != nil || !errors.Is(err, ErrSiblings) {
		t.Errorf("Value with 2 siblings = %q, %v; want nil, ErrSiblings", v, err)
	}
	if !res.Found || len(res.Values) != 2 || !res.Sloppy ||
		!slices.Equal(res.Replicas, []string{"x", "y"}) || res.Causal != "c" {
		t.Errorf("Get = %+v, want 2 live siblings a, b, sloppy, replicas x y, context c", res)
	}
	res, err = c.Get(testCtx(t), []byte("deleted"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Found || len(res.Values) != 0 || res.Causal != "tomb" {
		t.Errorf("Get deleted = %+v, want not found with context tomb", res)
	}
	if v, err := res.Value(); v != nil || !errors.Is(err, ErrNotFound) {
		t.Errorf("Value of a deleted key = %q, %v; want nil, ErrNotFound", v, err)
	}
}

func TestGetMergedCollapsesSiblings(t *testing.T) {
	fc := newFakeCluster(t, 1, 1, 1)
	n := fc.nodes[0]
	n.get = func(*pb.GetRequest) (*pb.GetResponse, error) {
		return &pb.GetResponse{Found: true, Context: "read-ctx",
			Siblings: []*pb.Sibling{{Value: []byte("b")}, {Value: []byte("a")}}}, nil
	}
	c := newClient(t, fc, nil)
	var merged [][]byte
	union := func(key []byte, vs [][]byte) ([]byte, error) {
		if string(key) != "k" {
			t.Errorf("merge got key %q, want k", key)
		}
		merged = vs
		s := slices.Clone(vs)
		slices.SortFunc(s, bytes.Compare)
		return bytes.Join(s, []byte(",")), nil
	}
	res, err := c.GetMerged(testCtx(t), []byte("k"), union, WithW(3))
	if err != nil {
		t.Fatalf("GetMerged: %v", err)
	}
	if len(merged) != 2 {
		t.Errorf("merge saw %d values, want 2", len(merged))
	}
	p := n.lastPut()
	if p == nil {
		t.Fatal("no write-back")
	}
	if string(p.Value) != "a,b" || p.Context != "read-ctx" || p.GetQuorum().GetW() != 3 {
		t.Errorf("write-back %v, want value a,b with context read-ctx and w=3", p)
	}
	if mustValue(t, res) != "a,b" || res.Causal != "put@n0" || !res.Found {
		t.Errorf("GetMerged = %+v, want value a,b and the write's context put@n0", res)
	}

	// One value: nothing to merge, nothing written.
	n.setHandlers(func(f *fakeNode) { f.get = nil })
	_, before, _ := n.counts()
	res, err = c.GetMerged(testCtx(t), []byte("k"), func([]byte, [][]byte) ([]byte, error) {
		t.Error("merge called for a single value")
		return nil, nil
	})
	if err != nil || mustValue(t, res) != "v@n0" {
		t.Fatalf("GetMerged single = %+v, %v; want v@n0", res, err)
	}
	if _, after, _ := n.counts(); after != before {
		t.Errorf("single value caused %d writes, want 0", after-before)
	}
}

// A merge function that fails leaves the siblings: nothing is written and
// GetMerged returns its error.
func TestGetMergedMergeFails(t *testing.T) {
	fc := newFakeCluster(t, 1, 1, 1)
	n := fc.nodes[0]
	n.get = func(*pb.GetRequest) (*pb.GetResponse, error) {
		return &pb.GetResponse{Found: true, Context: "read-ctx",
			Siblings: []*pb.Sibling{{Value: []byte("b")}, {Value: []byte("a")}}}, nil
	}
	c := newClient(t, fc, nil)
	errBad := errors.New("not a cart")
	_, err := c.GetMerged(testCtx(t), []byte("k"), func([]byte, [][]byte) ([]byte, error) { return nil, errBad })
	if !errors.Is(err, errBad) {
		t.Fatalf("GetMerged with a failing merge: %v, want the merge's error", err)
	}
	if p := n.lastPut(); p != nil {
		t.Errorf("a failed merge wrote %v", p)
	}
}

func TestErrorsMapToSentinels(t *testing.T) {
	fc := newFakeCluster(t, 1, 1, 1)
	var code codes.Code
	fc.nodes[0].get = func(*pb.GetRequest) (*pb.GetResponse, error) {
		return nil, status.Error(code, "server says no")
	}
	c := newClient(t, fc, func(c *Config) { c.ReadRetries = NoRetries })
	for _, tc := range []struct {
		code codes.Code
		want error
	}{
		{codes.InvalidArgument, ErrInvalid},
		{codes.Unavailable, ErrUnavailable},
		{codes.DeadlineExceeded, ErrTimeout},
		{codes.NotFound, ErrNotFound},
		{codes.Internal, ErrInternal},
		{codes.Unknown, ErrInternal},
		{codes.Canceled, context.Canceled},
	} {
		fc.nodes[0].setHandlers(func(*fakeNode) { code = tc.code })
		_, err := c.Get(testCtx(t), []byte("k"))
		if !errors.Is(err, tc.want) {
			t.Errorf("code %v: error %v, want errors.Is %v", tc.code, err, tc.want)
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != tc.code || e.Message != "server says no" || e.Node != fc.nodes[0].addr {
			t.Errorf("code %v: error %#v, want *Error with the code, message and node", tc.code, err)
		}
		if status.Code(err) != tc.code {
			t.Errorf("status.Code = %v, want %v", status.Code(err), tc.code)
		}
		for _, other := range []error{ErrInvalid, ErrUnavailable, ErrNotFound} {
			if other != tc.want && errors.Is(err, other) {
				t.Errorf("code %v matches %v too", tc.code, other)
			}
		}
	}
}

func TestNewUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	cfg := DefaultConfig()
	cfg.Endpoints = []string{addr}
	_, err = New(testCtx(t), cfg)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrNotSent) {
		t.Fatalf("New with nothing listening: %v, want ErrUnavailable and ErrNotSent", err)
	}
	if !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "TRANSIENT_FAILURE") {
		t.Errorf("New with nothing listening: %q, want it to say connection refused in words", err)
	}
	// The second endpoint answers.
	fc := newFakeCluster(t, 1, 1, 1)
	cfg.Endpoints = []string{addr, fc.nodes[0].addr}
	c, err := New(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("New with a live second endpoint: %v", err)
	}
	c.Close()
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig invalid: %v", err)
	}
	for name, edit := range map[string]func(*Config){
		"no endpoints":     func(c *Config) { c.Endpoints = nil },
		"empty endpoint":   func(c *Config) { c.Endpoints = []string{""} },
		"negative timeout": func(c *Config) { c.RequestTimeout = -1 },
		"negative refresh": func(c *Config) { c.RefreshInterval = -1 },
		"r above n":        func(c *Config) { c.Defaults = Quorum{N: 2, R: 3} },
	} {
		cfg := DefaultConfig()
		edit(&cfg)
		if err := cfg.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
		if _, err := New(context.Background(), cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: New = %v, want ErrInvalid", name, err)
		}
	}
}

func TestRefreshFollowsRingChange(t *testing.T) {
	fc := newFakeCluster(t, 2, 4, 1)
	c := newClient(t, fc, func(c *Config) { c.RefreshInterval = 10 * time.Millisecond })
	key := []byte("moving")
	p := ring.PartitionOf(key, 4)
	from := fc.nodes[p%2]
	to := fc.nodes[(p+1)%2]
	fc.update(func(i *pb.ClusterInfoResponse) {
		i.RingVersion = 2
		i.Owners[p] = uint32((p + 1) % 2)
	})
	chorustest.Eventually(t, "ring version 2", func() bool { return c.table.Load().info.GetRingVersion() == 2 })
	w, err := c.Put(testCtx(t), key, []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Causal != Causal("put@"+to.id) {
		t.Errorf("after the move Put went to %q, want %s (not %s)", w.Causal, to.id, from.id)
	}
}

func TestCloseStopsRefresher(t *testing.T) {
	fc := newFakeCluster(t, 1, 1, 1)
	cfg := DefaultConfig()
	cfg.Endpoints = fc.endpoints()
	cfg.RefreshInterval = time.Second
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg.Clock = clk
	c, err := New(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// New's own refresh, then one per period once the refresher's ticker
	// is armed: each lands before the clock moves again, so none is in
	// flight at Close.
	if err := clk.BlockUntil(testCtx(t), 1); err != nil {
		t.Fatalf("the refresher never armed its ticker: %v", err)
	}
	for want := 1; want <= 3; want++ {
		chorustest.Eventually(t, fmt.Sprintf("refresh %d", want), func() bool { return fc.infoCalls() == want })
		clk.Advance(cfg.RefreshInterval)
	}
	chorustest.Eventually(t, "refresh 4", func() bool { return fc.infoCalls() == 4 })
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Close waited for the refresher, which stops its ticker as it ends:
	// no timer is left to start a call, however far the clock moves.
	if n := clk.Waiters(); n != 0 {
		t.Fatalf("%d tickers still armed after Close: the refresher did not stop", n)
	}
	clk.Advance(time.Hour)
	if got := fc.infoCalls(); got != 4 {
		t.Errorf("%d ClusterInfo calls after Close returned", got-4)
	}
	if _, err := c.Get(testCtx(t), []byte("k")); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := c.Put(testCtx(t), []byte("k"), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: %v, want ErrClosed", err)
	}
	if _, err := c.Cluster(testCtx(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("Cluster after Close: %v, want ErrClosed", err)
	}
}

func TestCluster(t *testing.T) {
	fc := newFakeCluster(t, 3, 8, 2)
	fc.update(func(i *pb.ClusterInfoResponse) {
		i.Members = append(i.Members, &pb.Member{Id: "gone", Status: "removed"})
		i.RingVersion = 7
	})
	c := newClient(t, fc, nil)
	ci, err := c.Cluster(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if ci.Partitions != 8 || ci.Replicas != 2 || ci.RingVersion != 7 || ci.RingSize != 3 || len(ci.Members) != 4 {
		t.Fatalf("Cluster = %+v, want 8 partitions, 2 replicas, version 7, size 3, 4 members", ci)
	}
	total := 0
	for _, m := range ci.Members[:3] {
		total += m.Primaries
		if m.Owned < 2 || m.Primaries < m.Owned {
			t.Errorf("member %s owns %d, primary of %d", m.ID, m.Owned, m.Primaries)
		}
		if m.GRPCAddr == "" || m.HTTPAddr == "" || m.Status != "active" || !m.Alive {
			t.Errorf("member %+v lacks fields", m)
		}
	}
	if total != 16 || ci.Members[3].Primaries != 0 {
		t.Errorf("primary counts sum to %d (removed: %d), want 16 (0)", total, ci.Members[3].Primaries)
	}
	if len(ci.Owners) != 8 || !slices.Equal(ci.Owners[1], []string{"n1", "n2"}) {
		t.Errorf("owners = %v, want partition 1 on n1, n2", ci.Owners)
	}
}

func TestMalformedTableRejected(t *testing.T) {
	for name, resp := range map[string]*pb.ClusterInfoResponse{
		"uneven":    {Partitions: 4, Owners: []uint32{0, 0, 0}, Members: []*pb.Member{{Id: "a"}}},
		"bad index": {Partitions: 1, Owners: []uint32{3}, Members: []*pb.Member{{Id: "a"}}},
		"q not 2^k": {Partitions: 3, Owners: []uint32{0, 0, 0}, Members: []*pb.Member{{Id: "a"}}},
	} {
		if _, err := newTable(resp); err == nil {
			t.Errorf("%s: newTable accepted %v", name, resp)
		}
	}
}

func TestNeverSent(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&Error{Code: codes.Unavailable, Message: `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`}, true},
		{&Error{Code: codes.Unavailable, Message: "error reading from server: connection reset by peer"}, false},
		{&Error{Code: codes.Unavailable, Message: "replica: put quorum not met: 1 of 2 replicas answered"}, false},
		{&Error{Code: codes.Internal, Message: "Error while dialing"}, false},
	} {
		if got := neverSent(tt.err); got != tt.want {
			t.Errorf("neverSent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestViaPinsTheCoordinator: Via sends a request to the named node, even
// one that is no replica of the key, and nowhere else when it fails.
func TestViaPinsTheCoordinator(t *testing.T) {
	fc := newFakeCluster(t, 4, 16, 1)
	c := newClient(t, fc, nil)
	key := []byte("pinned")
	other := fc.nodes[(ring.PartitionOf(key, 16)+2)%4] // not the key's one primary
	res, err := c.Put(testCtx(t), key, []byte("v"), Via(other.addr))
	if err != nil {
		t.Fatalf("Put via %s: %v", other.id, err)
	}
	if want := Causal("put@" + other.id); res.Causal != want {
		t.Errorf("Put answered by %q, want %q", res.Causal, want)
	}
	g, err := c.Get(testCtx(t), key, Via(other.addr))
	if err != nil {
		t.Fatalf("Get via %s: %v", other.id, err)
	}
	if got, want := mustValue(t, g), "v@"+other.id; got != want {
		t.Errorf("Get answered %q, want %q", got, want)
	}
	other.srv.Stop()
	if _, err := c.Get(testCtx(t), key, Via(other.addr)); err == nil {
		t.Errorf("Get via a stopped node succeeded; want its error, not another node's answer")
	}
}
