package server

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/hints"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/transport/memnet"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// startOneNode starts a one-node in-memory cluster (N=R=W=1) with the
// real coordinator and storage, and returns it and its HTTP handler.
func startOneNode(t testing.TB) (*Node, http.Handler) {
	t.Helper()
	net := memnet.New(memnet.Config{Seed: 1})
	cfg := DefaultConfig()
	cfg.NodeID, cfg.InMemory, cfg.MemNet, cfg.Members = "a", true, net, []string{"a"}
	cfg.Ring.Replicas = 1
	cfg.Defaults = replica.Options{N: 1, R: 1, W: 1, Durable: false, Timeout: replica.DefaultOptions().Timeout}
	cfg.Hints = hints.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(); _ = net.Close() })
	return n, newHTTPHandler(n.kv, n.status, n.metrics, httpConfig{Logger: cfg.Logger})
}

// TestContextAtTheCounterLimitKeepsTheKeyUsable sends writes whose
// context names the coordinating node with the largest counters. They
// are refused with 400, and the key stays readable and writable. (A
// counter of 2^64-1 once wrapped around to 0: the node stored a set it
// could not decode, and the key answered 503 to reads and 500 to writes
// from then on.)
func TestContextAtTheCounterLimitKeepsTheKeyUsable(t *testing.T) {
	_, h := startOneNode(t)
	rec := doWith(t, h, "PUT", "/v1/kv/k", strings.NewReader("v1"), nil)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("first PUT: %d %q", rec.Code, rec.Body)
	}
	good := rec.Header().Get(headerContext)
	for _, counter := range []uint64{math.MaxUint64, math.MaxUint64 - 1, vclock.MaxCounter + 1, vclock.MaxCounter} {
		bad := vclock.NewClock(vclock.Entry{Node: "a", Counter: counter}).String()
		for _, method := range []string{"PUT", "DELETE"} {
			rec := doWith(t, h, method, "/v1/kv/k", strings.NewReader("v2"), map[string]string{headerContext: bad})
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("%s with counter %d: %d %q, want 400", method, counter, rec.Code, rec.Body)
			}
			errorOf(t, rec)
			rec = doWith(t, h, "GET", "/v1/kv/k", nil, nil)
			if rec.Code != http.StatusOK || rec.Body.String() != "v1" {
				t.Fatalf("GET after a %s with counter %d: %d %q, want 200 v1", method, counter, rec.Code, rec.Body)
			}
		}
	}
	rec = doWith(t, h, "PUT", "/v1/kv/k", strings.NewReader("v2"), map[string]string{headerContext: good})
	if rec.Code != http.StatusNoContent {
		t.Fatalf("PUT with the good context: %d %q", rec.Code, rec.Body)
	}
	rec = doWith(t, h, "GET", "/v1/kv/k", nil, nil)
	if rec.Code != http.StatusOK || rec.Body.String() != "v2" {
		t.Fatalf("GET: %d %q, want 200 v2", rec.Code, rec.Body)
	}
}

// TestHTTPMalformedQueryIsRefused: query strings that URL.Query would
// silently drop parts of are refused with 400 naming the parameter, and
// the backend is never called (they used to be served with the default
// W). The echoed input is bounded.
func TestHTTPMalformedQueryIsRefused(t *testing.T) {
	tests := []struct {
		query string
		names []string // substrings the error must contain
	}{
		{"w=3%", []string{`"w"`, `"3%"`, "escape"}},
		{"w=%zz", []string{`"w"`, `"%zz"`, "escape"}},
		{"w=3;w=1", []string{`"w=3;w=1"`, "semicolon"}},
		{"r=1&w=3;x", []string{`"w=3;x"`, "semicolon"}},
		{"%zz=1", []string{`"%zz"`, "escape"}},
		{"w=1&w=1", []string{`"w"`, "2 times"}},
		{"w=" + strings.Repeat("9", 64<<10), []string{"bad w", "non-negative integer", "(65536 bytes)"}},
	}
	for _, tt := range tests {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			kv := &fakeKV{}
			rec := do(t, kv, method, "/v1/kv/k?"+tt.query, strings.NewReader("v"), nil)
			name := tt.query[:min(len(tt.query), 20)]
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%s ?%s: code = %d, want 400", method, name, rec.Code)
				continue
			}
			msg := errorOf(t, rec)
			for _, s := range tt.names {
				if !strings.Contains(msg, s) {
					t.Errorf("%s ?%s: error %q does not contain %s", method, name, msg, s)
				}
			}
			if len(msg) > 2*maxEcho+100 {
				t.Errorf("%s ?%s: error of %d bytes echoes too much input", method, name, len(msg))
			}
			if kv.count() != 0 {
				t.Errorf("%s ?%s: backend was called", method, name)
			}
		}
	}
}

// TestHTTPEveryAnswerIsTheAPIs: paths the router would redirect (to a
// trailing slash, or to a cleaned path, which for a key names another
// key) are answered with JSON errors instead, and bad context headers
// with bounded JSON errors.
func TestHTTPEveryAnswerIsTheAPIs(t *testing.T) {
	tests := []struct {
		method, path string
		hdr          map[string]string
		code         int
		says         string
	}{
		{"GET", "/v1/kv", nil, 400, "empty key"},
		{"PUT", "/v1/kv", nil, 400, "empty key"},
		{"DELETE", "/v1/kv", nil, 400, "empty key"},
		{"POST", "/v1/kv", nil, 405, "not allowed"},
		{"GET", "/v1/kv/a//b", nil, 400, "%2F"},
		{"PUT", "/v1/kv/a/../b", nil, 400, "%2F"},
		{"DELETE", "/v1/kv/./b", nil, 400, "%2F"},
		{"GET", "/v1//cluster/ring", nil, 404, "no route"},
		{"GET", "/v1/cluster/ring/", nil, 404, "no route"},
		{"PUT", "/v1/kv/k", map[string]string{headerContext: strings.Repeat("A", vclock.MaxContextLen+1)}, 400, "limit"},
		{"DELETE", "/v1/kv/k", map[string]string{headerContext: strings.Repeat("A", vclock.MaxContextLen+1)}, 400, "limit"},
		{"GET", "/" + strings.Repeat("x", 64<<10), nil, 404, "no route"},
		{"PATCH" + strings.Repeat("X", 64<<10), "/v1/kv/k", nil, 405, "not allowed"},
	}
	for _, tt := range tests {
		kv := &fakeKV{put: &pb.PutResponse{}, del: &pb.DeleteResponse{}}
		name := tt.method[:min(len(tt.method), 10)] + " " + tt.path[:min(len(tt.path), 30)]
		rec := do(t, kv, tt.method, tt.path, strings.NewReader("v"), tt.hdr)
		if rec.Code != tt.code {
			t.Errorf("%s: code = %d, want %d; body %q", name, rec.Code, tt.code, rec.Body)
			continue
		}
		if msg := errorOf(t, rec); !strings.Contains(msg, tt.says) || len(msg) > maxErrorLen+100 {
			t.Errorf("%s: error %q (%d bytes), want one saying %q within %d bytes", name, msg[:min(len(msg), 300)], len(msg), tt.says, maxErrorLen)
		}
		if loc := rec.Header().Get("Location"); loc != "" {
			t.Errorf("%s: Location %q on an error", name, loc)
		}
		if kv.count() != 0 {
			t.Errorf("%s: backend was called", name)
		}
	}
	// Escaped, the same keys are served as they are.
	for _, path := range []string{"/v1/kv/a%2F%2Fb", "/v1/kv/a%2F..%2Fb"} {
		kv := &fakeKV{put: &pb.PutResponse{}}
		if rec := do(t, kv, "PUT", path, strings.NewReader("v"), nil); rec.Code != http.StatusNoContent {
			t.Errorf("PUT %s: code = %d, want 204", path, rec.Code)
		}
	}
	if rec := do(t, &fakeKV{}, "GET", "/debug/pprof", nil, nil); rec.Code != http.StatusOK {
		t.Errorf("GET /debug/pprof: code = %d, want 200", rec.Code)
	}
}

// TestHTTPLongBackendErrorIsCut: an error message is bounded however
// long the backend's is (a gRPC error quoting a client's whole context).
func TestHTTPLongBackendErrorIsCut(t *testing.T) {
	kv := &fakeKV{err: status.Error(codes.InvalidArgument, "server: bad context "+strings.Repeat("x", 60<<10))}
	rec := do(t, kv, "PUT", "/v1/kv/k", strings.NewReader("v"), nil)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("code = %d, want 400", rec.Code)
	}
	if msg := errorOf(t, rec); len(msg) > maxErrorLen+100 || !strings.HasPrefix(msg, "server: bad context xxx") || !strings.Contains(msg, "bytes cut") {
		t.Fatalf("error of %d bytes: %q…", len(msg), msg[:min(len(msg), 100)])
	}
}

// serveLoopback serves h on a loopback listener behind newHTTPServer with
// cfg, until the test ends, and returns its address.
func serveLoopback(t *testing.T, h http.Handler, cfg HTTPConfig) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(h, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return lis.Addr().String()
}

// dialRaw opens a connection whose reads give up after a generous bound,
// so that a server holding it forever fails the test instead of hanging it.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHTTPStalledBodyIsAnswered408: a PUT announcing 100 bytes of body
// and sending 10 is answered 408 in JSON once the read timeout passes,
// and the connection is closed (it used to be held, with its handler,
// forever). The test waits for the answer; the short timeout is what
// makes it come soon.
func TestHTTPStalledBodyIsAnswered408(t *testing.T) {
	kv := &fakeKV{put: &pb.PutResponse{}}
	addr := serveLoopback(t, newHTTPHandler(kv, nil, nil, httpConfig{}),
		HTTPConfig{ReadHeaderTimeout: 100 * time.Millisecond, ReadTimeout: 200 * time.Millisecond})
	c := dialRaw(t, addr)
	if _, err := io.WriteString(c, "PUT /v1/kv/k HTTP/1.1\r\nHost: node\r\nContent-Length: 100\r\n\r\n0123456789"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %q %q, want 408 in JSON", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection after the answer: %v, want it closed", err)
	}
	if kv.count() != 0 {
		t.Fatal("backend was called with a partial body")
	}
}

// TestHTTPQuietConnectionsAreClosed: a connection that sends nothing, or
// nothing after its last request, is closed by the server.
func TestHTTPQuietConnectionsAreClosed(t *testing.T) {
	kv := &fakeKV{get: &pb.GetResponse{Found: true, Siblings: []*pb.Sibling{{Value: []byte("v")}}}}
	addr := serveLoopback(t, newHTTPHandler(kv, nil, nil, httpConfig{}),
		HTTPConfig{ReadHeaderTimeout: 100 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	silent := dialRaw(t, addr)
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("a connection that never sent a request: read %v, want it closed", err)
	}
	idle := dialRaw(t, addr)
	if _, err := io.WriteString(idle, "GET /v1/kv/k HTTP/1.1\r\nHost: node\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %v %v", resp, err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("an idle keep-alive connection: read %v, want it closed", err)
	}
}

func TestHTTPConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg  HTTPConfig
		want string
	}{
		{HTTPConfig{}, ""},
		{DefaultHTTPConfig(), ""},
		{HTTPConfig{IdleTimeout: -time.Second}, "IdleTimeout"},
		{HTTPConfig{ReadHeaderTimeout: 2 * time.Minute}, "ReadHeaderTimeout"},
		{HTTPConfig{WriteTimeout: 90 * time.Second}, "WriteTimeout"},
	} {
		err := tt.cfg.Validate()
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: Validate = %v, want an error naming %q", tt.cfg, err, tt.want)
		}
	}
}
