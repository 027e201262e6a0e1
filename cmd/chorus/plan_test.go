package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakePlanner serves a node's plan routes: sizes, plan, commit, clear.
type fakePlanner struct {
	mu      sync.Mutex
	staged  *planView
	stale   bool
	asked   []planChange // of the last plan request
	sizes   int          // nodes whose sizes the last plan request carried
	removed bool
}

func startPlanner(t *testing.T, f *fakeKV) *fakePlanner {
	p := &fakePlanner{}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	f.mu.Lock()
	f.httpAddr = strings.TrimPrefix(srv.URL, "http://")
	f.mu.Unlock()
	return p
}

func (p *fakePlanner) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fail := func(code int, msg string) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /v1/partitions":
		_, _ = io.WriteString(w, `{"node":"node-a","partitions":{"0":{"keys":3,"bytes":300}}}`)
	case "POST /v1/cluster/plan":
		var req struct {
			Changes []planChange                   `json:"changes"`
			Sizes   map[string]map[uint32]planSize `json:"sizes"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		p.asked, p.sizes = req.Changes, len(req.Sizes)
		if req.Changes[0].Node == "nope" {
			fail(400, "ring: change refused: nope is not a member of the ring")
			return
		}
		p.staged = &planView{Changes: req.Changes, RingVersion: 7, MadeBy: "node-a",
			Moves:      []planMove{{Partition: 0, From: "node-a", To: "node-b", planSize: planSize{Keys: 3, Bytes: 300}}},
			Nodes:      []planFlow{{Node: "node-a", PartitionsOut: 1, Out: planSize{Keys: 3, Bytes: 300}}, {Node: "node-b", PartitionsIn: 1, In: planSize{Keys: 3, Bytes: 300}}},
			Partitions: 1, Total: planSize{Keys: 3, Bytes: 300}}
		_ = json.NewEncoder(w).Encode(p.staged)
	case "POST /v1/cluster/commit":
		switch {
		case p.staged == nil:
			fail(404, "server: no plan staged (make one with: chorus cluster plan)")
		case p.stale:
			fail(409, "server: the plan is stale: it was made against ring version 7, and the ring is at version 8 now")
		default:
			_ = json.NewEncoder(w).Encode(p.staged)
			p.staged = nil
		}
	case "POST /v1/cluster/remove/node-b":
		p.removed = true
		_, _ = io.WriteString(w, `{"removed":"node-b"}`)
	case "DELETE /v1/cluster/plan":
		had := p.staged != nil
		p.staged = nil
		_ = json.NewEncoder(w).Encode(map[string]bool{"cleared": had})
	default:
		fail(404, "no route")
	}
}

func TestClusterPlanCommitClear(t *testing.T) {
	f := startFake(t)
	p := startPlanner(t, f)

	r := f.must(t, exitUsage, "cluster", "plan", "rename", "node-a")
	if !strings.Contains(r.stderr, "join|leave|remove") {
		t.Errorf("plan with a bad operation: stderr %q", r.stderr)
	}
	f.must(t, exitUsage, "cluster", "plan", "leave")
	r = f.must(t, exitUsage, "cluster", "plan", "leave", "nope")
	if !strings.Contains(r.stderr, "nope is not a member") {
		t.Errorf("plan of an unknown node: stderr %q", r.stderr)
	}

	f.must(t, 0, "cluster", "plan", "join", "node-c", "--zone", "z9")
	if len(p.asked) != 1 || p.asked[0] != (planChange{Op: "join", Node: "node-c", Zone: "z9"}) {
		t.Errorf("join plan request: changes %+v, want join node-c in zone z9", p.asked)
	}
	r = f.must(t, 0, "cluster", "plan", "remove", "node-b", "--moves")
	if len(p.asked) != 1 || p.asked[0] != (planChange{Op: "remove", Node: "node-b"}) || p.sizes != 1 {
		t.Errorf("plan request: changes %+v with %d nodes' sizes, want remove node-b with node-a's sizes", p.asked, p.sizes)
	}
	for _, want := range []string{"plan: remove node-b", "ring version 7", "node-a", "300 B", "1 partitions, 1 copies, 3 keys, 300 B would move", "chorus cluster commit"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan output lacks %q:\n%s", want, r.stdout)
		}
	}

	p.mu.Lock()
	p.stale = true
	p.mu.Unlock()
	r = f.must(t, exitUsage, "cluster", "commit")
	if !strings.Contains(r.stderr, "stale") || !strings.Contains(r.stderr, "version 8") {
		t.Errorf("commit of a stale plan: stderr %q", r.stderr)
	}
	r = f.must(t, 0, "cluster", "clear")
	if !strings.Contains(r.stdout, "plan cleared") {
		t.Errorf("clear: stdout %q", r.stdout)
	}
	r = f.must(t, 0, "cluster", "clear")
	if !strings.Contains(r.stdout, "no plan was staged") {
		t.Errorf("second clear: stdout %q", r.stdout)
	}
	r = f.must(t, exitUsage, "cluster", "commit")
	if !strings.Contains(r.stderr, "no plan staged") {
		t.Errorf("commit with nothing staged: stderr %q", r.stderr)
	}

	// A plan that is current commits, and its remove is applied.
	f.must(t, 0, "cluster", "plan", "remove", "node-b")
	p.mu.Lock()
	p.stale = false
	p.mu.Unlock()
	r = f.must(t, 0, "cluster", "commit")
	if !p.removed || !strings.Contains(r.stdout, "node-b removed") {
		t.Errorf("commit: removed %v, stdout %q", p.removed, r.stdout)
	}
}
