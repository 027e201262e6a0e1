package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/server"
)

// call sends a JSON request to n's HTTP API and decodes the answer.
func call(t *testing.T, n *server.Node, method, path string, body, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, "http://"+n.Addrs().HTTP+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// A plan sizes every move from the nodes' partition counts, is kept with
// the ring version it was made against, and a commit after another ring
// change is refused; clear drops it.
func TestPlanCommitClear(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g := newGrowCluster(t, ctx, 4)
	keys := g.seedKeys("plan", 120)
	n0 := g.nodes["node0"]

	req := server.PlanRequest{Changes: []ring.Change{{Op: ring.OpLeave, Node: "node3"}}, Sizes: map[string]map[uint32]ring.Size{}}
	var total uint64
	for _, n := range g.live() {
		var sz struct {
			Node       string               `json:"node"`
			Partitions map[uint32]ring.Size `json:"partitions"`
		}
		if code := call(t, n, "GET", "/v1/partitions", nil, &sz); code != 200 || sz.Node != n.ID() {
			t.Fatalf("GET /v1/partitions on %s: %d %+v", n.ID(), code, sz)
		}
		req.Sizes[n.ID()] = sz.Partitions
		for _, s := range sz.Partitions {
			total += s.Keys
		}
	}
	if total != uint64(3*len(keys)) {
		t.Errorf("partition sizes sum to %d keys over the nodes, want %d (3 copies of %d)", total, 3*len(keys), len(keys))
	}
	var plan server.Plan
	if code := call(t, n0, "POST", "/v1/cluster/plan", req, &plan); code != 200 {
		t.Fatalf("POST plan: %d", code)
	}
	var held uint64
	for _, s := range req.Sizes["node3"] {
		held += s.Keys
	}
	if plan.Partitions != len(n0.Ring().PrimaryPartitions("node3")) || plan.Total.Keys != held || plan.Stale {
		t.Errorf("plan moves %d partitions and %d keys (stale %v), want node3's %d partitions and the %d keys it holds",
			plan.Partitions, plan.Total.Keys, plan.Stale, len(n0.Ring().PrimaryPartitions("node3")), held)
	}
	var shown server.Plan
	if code := call(t, n0, "GET", "/v1/cluster/plan", nil, &shown); code != 200 || shown.RingVersion != plan.RingVersion || shown.Total != plan.Total {
		t.Errorf("GET plan: %d %+v, want the staged plan", code, shown)
	}

	// Bad requests are 400s with a message.
	var e struct{ Error string }
	if code := call(t, n0, "POST", "/v1/cluster/plan", server.PlanRequest{Changes: []ring.Change{{Op: ring.OpLeave, Node: "nope"}}}, &e); code != 400 || !strings.Contains(e.Error, "nope") {
		t.Errorf("plan of an unknown node: %d %q", code, e.Error)
	}
	if code := call(t, n0, "POST", "/v1/cluster/plan", server.PlanRequest{}, &e); code != 400 {
		t.Errorf("empty plan: %d %q", code, e.Error)
	}

	// Another ring change makes it stale: commit refuses, GET says so.
	if err := g.nodes["node2"].Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if code := call(t, n0, "POST", "/v1/cluster/commit", nil, &e); code != 409 || !strings.Contains(e.Error, "stale") {
		t.Errorf("commit of a stale plan: %d %q, want 409 saying stale", code, e.Error)
	}
	if code := call(t, n0, "GET", "/v1/cluster/plan", nil, &shown); code != 200 || !shown.Stale {
		t.Errorf("GET stale plan: %d stale=%v", code, shown.Stale)
	}
	var cl struct{ Cleared bool }
	if code := call(t, n0, "DELETE", "/v1/cluster/plan", nil, &cl); code != 200 || !cl.Cleared {
		t.Errorf("clear: %d %+v", code, cl)
	}
	if code := call(t, n0, "POST", "/v1/cluster/commit", nil, &e); code != 404 {
		t.Errorf("commit with nothing staged: %d %q, want 404", code, e.Error)
	}

	// A fresh plan commits: the node hands it over and drops it.
	req.Changes = []ring.Change{{Op: ring.OpRemove, Node: "node3"}}
	if code := call(t, n0, "POST", "/v1/cluster/plan", req, &plan); code != 200 {
		t.Fatalf("POST plan: %d", code)
	}
	var committed server.Plan
	if code := call(t, n0, "POST", "/v1/cluster/commit", nil, &committed); code != 200 || len(committed.Changes) != 1 {
		t.Errorf("commit: %d %+v", code, committed)
	}
	if code := call(t, n0, "GET", "/v1/cluster/plan", nil, &e); code != 404 {
		t.Errorf("GET plan after commit: %d, want 404", code)
	}
}
