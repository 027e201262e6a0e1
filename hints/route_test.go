package hints

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/vclock"
)

// staticRing gives each partition fixed primaries.
type staticRing map[uint32][]string

func (r staticRing) Primaries(p uint32) []string { return r[p] }

// routeMembers is a Members of fixed live and removed sets.
type routeMembers struct {
	mu      sync.Mutex
	alive   map[string]bool
	removed map[string]bool
}

func (m *routeMembers) Alive(node string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.alive[node]
}

func (m *routeMembers) Removed(node string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.removed[node]
}

// routeFixture is a Router for node "f" over the real engine, with a ring
// in which partition 7's primaries are a, b, c and partition 8's are f, a,
// b, and a sender that records what reached each node.
type routeFixture struct {
	db      *storage.DB
	members *routeMembers
	ring    staticRing
	sender  *fakeSender
	router  *Router
}

func newRouteFixture(t *testing.T) *routeFixture {
	t.Helper()
	f := &routeFixture{
		db:      memDB(t),
		members: &routeMembers{alive: map[string]bool{"a": true, "b": true, "c": true, "f": true}, removed: map[string]bool{}},
		ring:    staticRing{7: {"a", "b", "c"}, 8: {"f", "a", "b"}},
		sender:  newFakeSender(),
	}
	r, err := NewRouter(RouterConfig{Self: "f", Ring: func() Ring { return f.ring }, Members: f.members,
		Local: f.db, Send: f.sender})
	if err != nil {
		t.Fatal(err)
	}
	f.router = r
	return f
}

// store writes set under key of partition p on the fixture's node, as a
// fallback stores a hinted write.
func (f *routeFixture) store(t *testing.T, p uint32, key string, set vclock.Set) {
	t.Helper()
	if _, _, err := f.db.Merge(context.Background(), p, []byte(key), set, false); err != nil {
		t.Fatal(err)
	}
}

func (f *routeFixture) held(t *testing.T, p uint32, key string) bool {
	t.Helper()
	_, err := f.db.Get(context.Background(), p, []byte(key))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func set(node, value string) vclock.Set {
	return vclock.NewSet(node, vclock.Value{Data: []byte(value)})
}

func TestNewRouterNeedsEveryField(t *testing.T) {
	f := newRouteFixture(t)
	good := RouterConfig{Self: "f", Ring: func() Ring { return f.ring }, Members: f.members, Local: f.db, Send: f.sender}
	for name, mutate := range map[string]func(*RouterConfig){
		"self": func(c *RouterConfig) { c.Self = "" },
		"ring": func(c *RouterConfig) { c.Ring = nil },
		"send": func(c *RouterConfig) { c.Send = nil },
	} {
		c := good
		mutate(&c)
		if _, err := NewRouter(c); !errors.Is(err, ErrBadConfig) {
			t.Errorf("without %s: err = %v, want ErrBadConfig", name, err)
		}
	}
}

// A removed target counts as alive, so that the Queue delivers (redirects)
// its hints; a node that is merely down does not.
func TestRouterAliveCountsRemoved(t *testing.T) {
	f := newRouteFixture(t)
	f.members.alive["gone"], f.members.removed["gone"] = false, true
	f.members.alive["down"] = false
	if !f.router.Alive("gone") {
		t.Error("a removed node is not alive for delivery; its hints would wait forever")
	}
	if f.router.Alive("down") {
		t.Error("a node that is down (not removed) is alive for delivery")
	}
	if !f.router.Alive("a") {
		t.Error("a live node is not alive")
	}
}

func TestPlanRedirect(t *testing.T) {
	rg := staticRing{7: {"a", "b", "c"}, 8: {"f", "a", "b"}}
	alive := func(n string) bool { return n != "b" }
	hs := []Hint{{Target: "x", Partition: 7, Key: []byte("k7")}, {Target: "x", Partition: 8, Key: []byte("k8")}}
	plan, err := planRedirect(hs, rg, alive)
	if err != nil {
		t.Fatal(err)
	}
	keys := func(node string) []string {
		var out []string
		for _, h := range plan[node] {
			out = append(out, string(h.Key))
		}
		return out
	}
	for node, want := range map[string][]string{"a": {"k7", "k8"}, "c": {"k7"}, "f": {"k8"}, "b": nil} {
		if got := keys(node); !slices.Equal(got, want) {
			t.Errorf("%s receives %v, want %v", node, got, want)
		}
	}
	if _, err := planRedirect(hs, rg, func(n string) bool { return n == "f" }); err == nil {
		t.Fatal("partition 7 has no live primary, but the plan succeeded")
	}
}

// The hints of a removed node go to each key's live primaries: this node
// merges the keys it is a primary of, the others are sent theirs, and the
// removed node is sent nothing.
func TestRouterRedirectsRemovedTarget(t *testing.T) {
	f := newRouteFixture(t)
	f.members.alive["x"], f.members.removed["x"] = false, true
	f.members.alive["c"] = false
	hs := []Hint{
		{Target: "x", Partition: 7, Key: []byte("k7"), Set: set("x", "v7")},
		{Target: "x", Partition: 8, Key: []byte("k8"), Set: set("x", "v8")},
	}
	if err := f.router.DeliverHints(context.Background(), "x", hs); err != nil {
		t.Fatal(err)
	}
	if got := f.sender.callCount("x"); got != 0 {
		t.Errorf("the removed target was sent %d batches", got)
	}
	for node, want := range map[string][]string{"a": {"k7", "k8"}, "b": {"k7", "k8"}, "c": nil, "f": nil} {
		if got := f.sender.keys(node); !slices.Equal(got, want) {
			t.Errorf("%s was sent %v, want %v", node, got, want)
		}
	}
	got, err := f.db.Get(context.Background(), 8, []byte("k8"))
	if err != nil || !got.Equal(hs[1].Set) {
		t.Fatalf("this node, a primary of k8, holds %v (%v), want the hinted set", got, err)
	}
}

// A redirection with a key that has no live primary fails before sending
// anything, and through the Queue keeps the hints.
func TestRouterRedirectWithoutPrimaryKeepsHints(t *testing.T) {
	f := newRouteFixture(t)
	f.members.alive["x"], f.members.removed["x"] = false, true
	for _, n := range []string{"a", "b", "c"} {
		f.members.alive[n] = false
	}
	q := manual(t, f.db, f.router, f.router, testConfig(newFakeClock()))
	mustAdd(t, q, Hint{Target: "x", Partition: 8, Key: []byte("k8"), Set: set("x", "v8"), Created: t0})
	mustAdd(t, q, Hint{Target: "x", Partition: 7, Key: []byte("k7"), Set: set("x", "v7"), Created: t0.Add(1)})
	q.deliverOnce()
	if got := q.Pending("x"); got != 2 {
		t.Fatalf("%d hints queued after a failed redirection, want 2", got)
	}
	for _, n := range []string{"a", "b", "c", "x"} {
		if c := f.sender.callCount(n); c != 0 {
			t.Errorf("%s was sent %d batches of a redirection that could not complete", n, c)
		}
	}
	f.members.mu.Lock()
	f.members.alive["a"] = true
	f.members.mu.Unlock()
	q.Notify("x") // ends the backoff of the failed round
	q.deliverOnce()
	if got := q.Pending("x"); got != 0 {
		t.Fatalf("%d hints queued once a primary is up, want 0", got)
	}
	if got := f.sender.keys("a"); !slices.Equal(got, []string{"k8", "k7"}) {
		t.Fatalf("a was sent %v, want [k8 k7]", got)
	}
}

func TestRouterRedirectWithoutRingFails(t *testing.T) {
	f := newRouteFixture(t)
	f.members.removed["x"] = true
	r, err := NewRouter(RouterConfig{Self: "f", Ring: func() Ring { return nil }, Members: f.members, Local: f.db, Send: f.sender})
	if err != nil {
		t.Fatal(err)
	}
	err = r.DeliverHints(context.Background(), "x", []Hint{{Target: "x", Partition: 7, Key: []byte("k"), Set: set("x", "v")}})
	if !errors.Is(err, errNoRing) {
		t.Fatalf("redirect without a ring = %v, want errNoRing", err)
	}
}

// Once its hints are delivered, a fallback drops its copy of a key it is
// no primary of, unless the copy holds more than was delivered; it keeps
// the keys it is a primary of, and keeps everything when delivery fails.
func TestRouterDropsDeliveredFallbackCopies(t *testing.T) {
	ctx := context.Background()
	f := newRouteFixture(t)
	delivered := set("x", "v1")
	newer := vclock.Sync(delivered, set("y", "v2")) // a write that reached f since
	f.store(t, 7, "covered", delivered)
	f.store(t, 7, "grown", newer)
	f.store(t, 8, "owned", delivered)
	hs := []Hint{
		{Target: "a", Partition: 7, Key: []byte("covered"), Set: delivered},
		{Target: "a", Partition: 7, Key: []byte("grown"), Set: delivered},
		{Target: "a", Partition: 8, Key: []byte("owned"), Set: delivered},
	}

	f.sender.setFail("a", errors.New("unreachable"))
	if err := f.router.DeliverHints(ctx, "a", hs); err == nil {
		t.Fatal("a failed delivery succeeded")
	}
	if !f.held(t, 7, "covered") {
		t.Fatal("the copy was dropped although delivery failed")
	}

	f.sender.setFail("a", nil)
	if err := f.router.DeliverHints(ctx, "a", hs); err != nil {
		t.Fatal(err)
	}
	if f.held(t, 7, "covered") {
		t.Error("the fallback still holds a copy its delivered hints cover")
	}
	got, err := f.db.Get(ctx, 7, []byte("grown"))
	if err != nil || !got.Equal(newer) {
		t.Errorf("the copy holding a newer write = %v (%v), want it kept", got, err)
	}
	if !f.held(t, 8, "owned") {
		t.Error("this node dropped a key it is a primary of")
	}
}

// Two hints for one key, delivered in one batch, cover the copy together.
func TestRouterDropJoinsHintsOfOneKey(t *testing.T) {
	f := newRouteFixture(t)
	s1, s2 := set("x", "v1"), set("y", "v2")
	f.store(t, 7, "k", vclock.Sync(s1, s2))
	hs := []Hint{{Target: "a", Partition: 7, Key: []byte("k"), Set: s1}, {Target: "a", Partition: 7, Key: []byte("k"), Set: s2}}
	if err := f.router.DeliverHints(context.Background(), "a", hs); err != nil {
		t.Fatal(err)
	}
	if f.held(t, 7, "k") {
		t.Fatal("the copy covered by two delivered hints together was kept")
	}
}
