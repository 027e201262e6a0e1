package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// readinessOf decodes a /readyz answer.
func readinessOf(t *testing.T, body []byte) Readiness {
	t.Helper()
	var r Readiness
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	return r
}

func checkOf(r Readiness, name string) ReadyCheck {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return ReadyCheck{Name: name, Why: "missing"}
}

// TestHealthAndReadiness: a serving node answers /healthz 200 and /readyz
// 200 with every check passing; once it is leaving, /readyz answers 503
// naming the failed check and why, and /healthz stays 200.
func TestHealthAndReadiness(t *testing.T) {
	n, _ := startOneNode(t)
	h := newHTTPHandler(n.kv, n.status, n.metrics, httpConfig{Logger: n.log, Readiness: n.Readiness})
	rec := doWith(t, h, "GET", "/healthz", nil, nil)
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Fatalf("/healthz: %d %q, want 200 {\"status\":\"ok\"}", rec.Code, rec.Body)
	}
	rec = doWith(t, h, "GET", "/readyz", nil, nil)
	r := readinessOf(t, rec.Body.Bytes())
	if rec.Code != http.StatusOK || !r.Ready() || r.Node != "a" {
		t.Fatalf("/readyz: %d %+v, want 200 ready for node a", rec.Code, r)
	}
	for _, name := range []string{"ring", "storage", "handoff", "leaving"} {
		if c := checkOf(r, name); !c.OK || c.Why != "" {
			t.Errorf("check %s = %+v, want ok", name, c)
		}
	}

	n.leaving.Store(true)
	rec = doWith(t, h, "GET", "/readyz", nil, nil)
	r = readinessOf(t, rec.Body.Bytes())
	if rec.Code != http.StatusServiceUnavailable || r.Status != "not ready" {
		t.Fatalf("/readyz while leaving: %d %+v, want 503 not ready", rec.Code, r)
	}
	if c := checkOf(r, "leaving"); c.OK || !strings.Contains(c.Why, "leaving") {
		t.Errorf("leaving check = %+v, want failed with a reason", c)
	}
	if c := checkOf(r, "ring"); !c.OK {
		t.Errorf("ring check = %+v while leaving, want ok", c)
	}
	if rec := doWith(t, h, "GET", "/healthz", nil, nil); rec.Code != http.StatusOK {
		t.Errorf("/healthz while leaving: %d, want 200", rec.Code)
	}
	n.leaving.Store(false)

	n.ready.Store(false) // as before the join completes
	rec = doWith(t, h, "GET", "/readyz", nil, nil)
	if c := checkOf(readinessOf(t, rec.Body.Bytes()), "ring"); rec.Code != http.StatusServiceUnavailable || c.OK || !strings.Contains(c.Why, "starting") {
		t.Errorf("/readyz before the ring is known: %d, ring check %+v; want 503 and a failed ring check", rec.Code, c)
	}
	n.ready.Store(true)

	_ = n.db.Close()
	rec = doWith(t, h, "GET", "/readyz", nil, nil)
	if c := checkOf(readinessOf(t, rec.Body.Bytes()), "storage"); rec.Code != http.StatusServiceUnavailable || c.OK || !strings.Contains(c.Why, "closed") {
		t.Errorf("/readyz with storage closed: %d, storage check %+v; want 503 and a failed storage check", rec.Code, c)
	}
}

// TestReadyzAnswersEachCheck: the handler answers 503 when any check
// fails, with every check in the body, and other methods 405.
func TestReadyzAnswersEachCheck(t *testing.T) {
	h := newHTTPHandler(&fakeKV{}, nil, nil, httpConfig{Readiness: func() Readiness {
		return newReadiness("x", []ReadyCheck{{Name: "ring", OK: true},
			{Name: "handoff", Why: "1 partition(s) this node gains are stalled in handoff"}})
	}})
	rec := doWith(t, h, "GET", "/readyz", nil, nil)
	r := readinessOf(t, rec.Body.Bytes())
	if rec.Code != http.StatusServiceUnavailable || r.Ready() || len(r.Checks) != 2 || checkOf(r, "handoff").Why == "" {
		t.Errorf("/readyz with a stalled handoff: %d %+v", rec.Code, r)
	}
	if rec := doWith(t, h, "POST", "/readyz", nil, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /readyz: %d, want 405", rec.Code)
	}
	if rec := doWith(t, h, "DELETE", "/healthz", nil, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /healthz: %d, want 405", rec.Code)
	}
	h = newHTTPHandler(&fakeKV{}, nil, nil, httpConfig{})
	if rec := doWith(t, h, "GET", "/readyz", nil, nil); rec.Code != http.StatusOK {
		t.Errorf("/readyz without a readiness source: %d, want 200", rec.Code)
	}
}
