package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLeaver is a node's leave routes: POST starts the leave, each GET
// answers the next scripted state (the last one repeats); with stopAfter
// the server closes once it has answered that many GETs, as a node that
// left stops.
type fakeLeaver struct {
	t         *testing.T
	srv       *httptest.Server
	mu        sync.Mutex
	states    []leaveView
	gets      int
	stopAfter int
	posted    bool
}

func startLeaver(t *testing.T, f *fakeKV, stopAfter int, states ...leaveView) *fakeLeaver {
	l := &fakeLeaver{t: t, states: states, stopAfter: stopAfter}
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(l.srv.Close)
	f.mu.Lock()
	f.httpAddr = strings.TrimPrefix(l.srv.URL, "http://")
	f.mu.Unlock()
	return l
}

func (l *fakeLeaver) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/cluster/leave" {
		http.NotFound(w, r)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Method == http.MethodPost {
		l.posted = true
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"leaving":true}`))
		return
	}
	v := l.states[min(l.gets, len(l.states)-1)]
	l.gets++
	if l.stopAfter > 0 && l.gets > l.stopAfter {
		// Stopped: drop the connection, as a closed port does.
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
		go l.srv.Close()
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

func TestLeavePrintsChangesAndSummary(t *testing.T) {
	f := startFake(t)
	states := []leaveView{
		{Leaving: true, InRing: true},
		{Leaving: true, Owed: 3, Partitions: 3},
		{Leaving: true, Owed: 3, Partitions: 3},
		{Leaving: true, Owed: 3, Delivered: 2, Partitions: 3, Keys: 10, Bytes: 2048},
		{Leaving: true, Owed: 3, Delivered: 2, Partitions: 3, Keys: 10, Bytes: 2048},
		{Leaving: true, Left: true, Owed: 3, Delivered: 3, Partitions: 3, Keys: 12, Bytes: 4096},
	}
	l := startLeaver(t, f, 0, states...)
	r := f.must(t, 0, "leave", "node-a")
	if !l.posted {
		t.Fatal("the leave was never asked for")
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	// "is leaving", three distinct states, the summary.
	if len(lines) != 5 {
		t.Fatalf("stdout has %d lines, want 5 (a line per change only):\n%s", len(lines), r.stdout)
	}
	if !strings.Contains(lines[2], "delivered 0 of 3") || !strings.Contains(lines[3], "delivered 2 of 3") {
		t.Errorf("progress lines:\n%s", r.stdout)
	}
	sum := lines[4]
	for _, want := range []string{"node-a has left", "3 partitions", "12 keys", "4.0 KiB"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary %q lacks %q", sum, want)
		}
	}
}

// A node that stops answering after it answered is taken to have left
// and stopped: the summary has the last counts seen.
func TestLeaveNodeStops(t *testing.T) {
	f := startFake(t)
	startLeaver(t, f, 2, leaveView{Leaving: true, Owed: 2, Delivered: 2, Partitions: 2, Keys: 5, Bytes: 100})
	r := f.must(t, 0, "leave", "node-a")
	if !strings.Contains(r.stdout, "node-a has left and stopped: 2 partitions handed off (2 handoffs, 5 keys, 100 B)") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if n := strings.Count(r.stdout, "handoffs delivered"); n != 1 {
		t.Errorf("%d progress lines for one unchanged state, want 1:\n%s", n, r.stdout)
	}
}

// A leave that does not finish within --wait says how long it really
// waited, not the default --wait.
func TestLeaveTimeoutSaysElapsed(t *testing.T) {
	f := startFake(t)
	startLeaver(t, f, 0, leaveView{Leaving: true, Owed: 4, Delivered: 1, Partitions: 4})
	began := time.Now()
	r := f.must(t, 1, "leave", "node-a", "--wait", "700ms")
	took := time.Since(began)
	if !strings.Contains(r.stderr, "has not finished leaving after") || strings.Contains(r.stderr, "30m") {
		t.Fatalf("stderr %q, want the elapsed time", r.stderr)
	}
	// The duration printed lies between --wait and the time the command took.
	i := strings.Index(r.stderr, "after ") + len("after ")
	j := strings.Index(r.stderr[i:], " ")
	d, err := time.ParseDuration(r.stderr[i : i+j])
	if err != nil || d < 700*time.Millisecond || d > took {
		t.Errorf("printed elapsed %q (%v), want between 700ms and %v", r.stderr[i:i+j], err, took)
	}
	if !strings.Contains(r.stderr, "delivered 1 of 4") {
		t.Errorf("stderr %q lacks the last progress", r.stderr)
	}
}
