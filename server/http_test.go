package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/transport/pb"
)

// fakeKV records the requests it gets and answers with scripted responses.
type fakeKV struct {
	mu   sync.Mutex
	reqs []proto.Message

	get     *pb.GetResponse
	put     *pb.PutResponse
	del     *pb.DeleteResponse
	cluster *pb.ClusterInfoResponse
	err     error
}

var _ kvBackend = (*fakeKV)(nil)

func (f *fakeKV) record(m proto.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, m)
}

func (f *fakeKV) Get(_ context.Context, r *pb.GetRequest) (*pb.GetResponse, error) {
	f.record(r)
	return f.get, f.err
}

func (f *fakeKV) Put(_ context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	f.record(r)
	return f.put, f.err
}

func (f *fakeKV) Delete(_ context.Context, r *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	f.record(r)
	return f.del, f.err
}

func (f *fakeKV) ClusterInfo(_ context.Context, r *pb.ClusterInfoRequest) (*pb.ClusterInfoResponse, error) {
	f.record(r)
	return f.cluster, f.err
}

// last returns the one request the fake got, failing if it got another count.
func (f *fakeKV) last(t *testing.T) proto.Message {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) != 1 {
		t.Fatalf("backend got %d requests, want 1: %v", len(f.reqs), f.reqs)
	}
	return f.reqs[0]
}

func (f *fakeKV) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// do serves one request through a fresh handler on kv.
func do(t *testing.T, kv *fakeKV, method, target string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	return doWith(t, newHTTPHandler(kv, nil, nil, httpConfig{}), method, target, body, hdr)
}

func doWith(t *testing.T, h http.Handler, method, target string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// errorOf decodes a JSON error body, failing when the body is not one.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json; body %q", ct, rec.Body)
	}
	var e errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not a JSON error: %v", rec.Body, err)
	}
	return e.Error
}

var info = &pb.QuorumInfo{Replicas: []string{"a", "b", "c"}}

func TestHTTPPut(t *testing.T) {
	kv := &fakeKV{put: &pb.PutResponse{Context: "ctx2", Info: info}}
	rec := do(t, kv, "PUT", "/v1/kv/users/42", strings.NewReader("hello"),
		map[string]string{headerContext: "ctx1"})
	if rec.Code != http.StatusNoContent {
		t.Fatalf("code = %d, want 204; body %q", rec.Code, rec.Body)
	}
	if got := rec.Header().Get(headerContext); got != "ctx2" {
		t.Errorf("context header = %q, want ctx2", got)
	}
	if got := rec.Header().Get(headerQuorum); got != "strict" {
		t.Errorf("quorum header = %q, want strict", got)
	}
	if got := rec.Header().Get(headerReplicas); got != "a,b,c" {
		t.Errorf("replicas header = %q, want a,b,c", got)
	}
	want := &pb.PutRequest{Key: []byte("users/42"), Value: []byte("hello"), Context: "ctx1", Quorum: &pb.Quorum{}}
	if got := kv.last(t); !proto.Equal(got, want) {
		t.Errorf("backend got %v, want %v", got, want)
	}
}

func TestHTTPKeyDecoding(t *testing.T) {
	tests := []struct {
		path string
		want string
	}{
		{"/v1/kv/plain", "plain"},
		{"/v1/kv/a/b/c", "a/b/c"},
		{"/v1/kv/with%20space", "with space"},
		{"/v1/kv/slash%2Finside", "slash/inside"},
		{"/v1/kv/%C3%A9t%C3%A9", "été"},
		{"/v1/kv/q%3Fmark", "q?mark"},
	}
	for _, tt := range tests {
		kv := &fakeKV{put: &pb.PutResponse{}}
		rec := do(t, kv, "PUT", tt.path, strings.NewReader("v"), nil)
		if rec.Code != http.StatusNoContent {
			t.Errorf("PUT %s: code = %d, want 204; body %q", tt.path, rec.Code, rec.Body)
			continue
		}
		if got := string(kv.last(t).(*pb.PutRequest).Key); got != tt.want {
			t.Errorf("PUT %s: key = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestHTTPQuorumParams(t *testing.T) {
	tests := []struct {
		query string
		want  *pb.Quorum
	}{
		{"", &pb.Quorum{}},
		{"n=5&r=3&w=4&pr=1&pw=2", &pb.Quorum{N: 5, R: 3, W: 4, Pr: 1, Pw: 2}},
		{"w=0", &pb.Quorum{}},
		{"timeout=500ms", &pb.Quorum{TimeoutMs: 500}},
		{"timeout=2s", &pb.Quorum{TimeoutMs: 2000}},
		{"timeout=250", &pb.Quorum{TimeoutMs: 250}},
		{"timeout=100us", &pb.Quorum{TimeoutMs: 1}},
		{"durable=false", &pb.Quorum{NotDurable: true}},
		{"durable=true", &pb.Quorum{}},
	}
	for _, tt := range tests {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			kv := &fakeKV{
				get: &pb.GetResponse{Found: true, Siblings: []*pb.Sibling{{Value: []byte("v")}}},
				put: &pb.PutResponse{}, del: &pb.DeleteResponse{},
			}
			rec := do(t, kv, method, "/v1/kv/k?"+tt.query, strings.NewReader("v"), nil)
			if rec.Code >= 300 {
				t.Errorf("%s ?%s: code = %d; body %q", method, tt.query, rec.Code, rec.Body)
				continue
			}
			var got *pb.Quorum
			switch r := kv.last(t).(type) {
			case *pb.GetRequest:
				got = r.Quorum
			case *pb.PutRequest:
				got = r.Quorum
			case *pb.DeleteRequest:
				got = r.Quorum
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("%s ?%s: quorum = %v, want %v", method, tt.query, got, tt.want)
			}
		}
	}
}

func TestHTTPBadParams(t *testing.T) {
	tests := []struct {
		query string
		names []string // substrings the error must contain
	}{
		{"w=-1", []string{"w", `"-1"`}},
		{"r=two", []string{"r", `"two"`}},
		{"n=99999999999", []string{"n", `"99999999999"`}},
		{"pr=1.5", []string{"pr", `"1.5"`}},
		{"pw=x", []string{"pw", `"x"`}},
		{"timeout=soon", []string{"timeout", `"soon"`}},
		{"timeout=-5ms", []string{"timeout", `"-5ms"`}},
		{"durable=maybe", []string{"durable", `"maybe"`}},
		{"W=2", []string{`"W"`, "unknown"}},
		{"w=1&w=2", []string{"w", "2 times"}},
	}
	for _, tt := range tests {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			kv := &fakeKV{}
			rec := do(t, kv, method, "/v1/kv/k?"+tt.query, strings.NewReader("v"), nil)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%s ?%s: code = %d, want 400", method, tt.query, rec.Code)
				continue
			}
			msg := errorOf(t, rec)
			for _, s := range tt.names {
				if !strings.Contains(msg, s) {
					t.Errorf("%s ?%s: error %q does not name %s", method, tt.query, msg, s)
				}
			}
			if kv.count() != 0 {
				t.Errorf("%s ?%s: backend was called", method, tt.query)
			}
		}
	}
}

func TestHTTPGetValue(t *testing.T) {
	kv := &fakeKV{get: &pb.GetResponse{
		Found:    true,
		Siblings: []*pb.Sibling{{Value: []byte("v1")}},
		Context:  "c1",
		Info:     &pb.QuorumInfo{Sloppy: true, Replicas: []string{"b", "d"}},
	}}
	rec := do(t, kv, "GET", "/v1/kv/k?r=1", nil, nil)
	if rec.Code != http.StatusOK || rec.Body.String() != "v1" {
		t.Fatalf("got %d %q, want 200 \"v1\"", rec.Code, rec.Body)
	}
	for h, want := range map[string]string{
		"Content-Type":   "application/octet-stream",
		headerContext:    "c1",
		headerQuorum:     "sloppy",
		headerReplicas:   "b,d",
		"Content-Length": "2",
	} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	want := &pb.GetRequest{Key: []byte("k"), Quorum: &pb.Quorum{R: 1}}
	if got := kv.last(t); !proto.Equal(got, want) {
		t.Errorf("backend got %v, want %v", got, want)
	}
}

func decodeSiblings(t *testing.T, rec *httptest.ResponseRecorder) (string, []string) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var body siblingsBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("decode %q: %v", rec.Body, err)
	}
	var vals []string
	for _, s := range body.Siblings {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("sibling %q is not base64: %v", s, err)
		}
		vals = append(vals, string(b))
	}
	return body.Context, vals
}

func TestHTTPGetSiblings(t *testing.T) {
	kv := &fakeKV{get: &pb.GetResponse{
		Found: true,
		Siblings: []*pb.Sibling{
			{Value: []byte("red")},
			{Tombstone: true},
			{Value: []byte{0xff, 0x00, 'b'}},
		},
		Context: "c2",
		Info:    info,
	}}
	rec := do(t, kv, "GET", "/v1/kv/color", nil, nil)
	if rec.Code != http.StatusMultipleChoices {
		t.Fatalf("code = %d, want 300; body %q", rec.Code, rec.Body)
	}
	ctx, vals := decodeSiblings(t, rec)
	if ctx != "c2" || len(vals) != 2 || vals[0] != "red" || vals[1] != "\xff\x00b" {
		t.Errorf("got context %q siblings %q, want c2 [red \\xff\\x00b]", ctx, vals)
	}
	if got := rec.Header().Get(headerContext); got != "c2" {
		t.Errorf("context header = %q, want c2", got)
	}
	if got := rec.Header().Get(headerReplicas); got != "a,b,c" {
		t.Errorf("replicas header = %q, want a,b,c", got)
	}
}

func TestHTTPGetAcceptJSON(t *testing.T) {
	kv := &fakeKV{get: &pb.GetResponse{
		Found: true, Siblings: []*pb.Sibling{{Value: []byte("v1")}}, Context: "c1", Info: info,
	}}
	for _, accept := range []string{"application/json", "text/plain, application/json;q=0.9"} {
		rec := do(t, kv, "GET", "/v1/kv/k", nil, map[string]string{"Accept": accept})
		if rec.Code != http.StatusOK {
			t.Fatalf("Accept %q: code = %d, want 200", accept, rec.Code)
		}
		ctx, vals := decodeSiblings(t, rec)
		if ctx != "c1" || len(vals) != 1 || vals[0] != "v1" {
			t.Errorf("Accept %q: got %q %q, want c1 [v1]", accept, ctx, vals)
		}
	}
}

func TestHTTPGetNotFound(t *testing.T) {
	tests := []struct {
		name string
		resp *pb.GetResponse
		ctx  string
	}{
		{"never written", &pb.GetResponse{Info: info}, ""},
		{"deleted", &pb.GetResponse{Context: "c9", Info: info}, "c9"},
		{"only tombstones", &pb.GetResponse{Found: true, Siblings: []*pb.Sibling{{Tombstone: true}}, Context: "c8", Info: info}, "c8"},
	}
	for _, tt := range tests {
		rec := do(t, &fakeKV{get: tt.resp}, "GET", "/v1/kv/k", nil, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: code = %d, want 404", tt.name, rec.Code)
			continue
		}
		if msg := errorOf(t, rec); msg != "not found" {
			t.Errorf("%s: error = %q, want not found", tt.name, msg)
		}
		hdr := rec.Header()
		if got, ok := hdr[headerContext]; (tt.ctx == "") != !ok || (ok && got[0] != tt.ctx) {
			t.Errorf("%s: context header = %q, want %q", tt.name, got, tt.ctx)
		}
		if hdr.Get(headerQuorum) != "strict" || hdr.Get(headerReplicas) != "a,b,c" {
			t.Errorf("%s: quorum headers %q %q, want strict a,b,c", tt.name, hdr.Get(headerQuorum), hdr.Get(headerReplicas))
		}
	}
}

func TestHTTPDelete(t *testing.T) {
	kv := &fakeKV{del: &pb.DeleteResponse{Context: "c3", Info: &pb.QuorumInfo{Sloppy: true, Replicas: []string{"x"}}}}
	rec := do(t, kv, "DELETE", "/v1/kv/k?w=3", nil, map[string]string{headerContext: "c2"})
	if rec.Code != http.StatusNoContent {
		t.Fatalf("code = %d, want 204; body %q", rec.Code, rec.Body)
	}
	h := rec.Header()
	if h.Get(headerContext) != "c3" || h.Get(headerQuorum) != "sloppy" || h.Get(headerReplicas) != "x" {
		t.Errorf("headers %v, want context c3, sloppy, replicas x", h)
	}
	want := &pb.DeleteRequest{Key: []byte("k"), Context: "c2", Quorum: &pb.Quorum{W: 3}}
	if got := kv.last(t); !proto.Equal(got, want) {
		t.Errorf("backend got %v, want %v", got, want)
	}
}

func TestHTTPErrorMapping(t *testing.T) {
	tests := []struct {
		err  error
		code int
		msg  string
	}{
		{status.Error(codes.InvalidArgument, "bad quorum: r=4 > n=3"), 400, "bad quorum: r=4 > n=3"},
		{status.Error(codes.FailedPrecondition, "stale context"), 409, "stale context"},
		{status.Error(codes.ResourceExhausted, "too big"), 413, "too big"},
		{status.Error(codes.Unavailable, "replica: write quorum not met (1/2)"), 503, "replica: write quorum not met (1/2)"},
		{status.Error(codes.DeadlineExceeded, "replica: read quorum not met (0/2)"), 503, "replica: read quorum not met (0/2)"},
		{status.Error(codes.Canceled, "canceled"), 503, "canceled"},
		{status.Error(codes.NotFound, "no such thing"), 404, "no such thing"},
		{status.Error(codes.Internal, "boom"), 500, "boom"},
		{status.Error(codes.Unimplemented, "nope"), 500, "nope"},
		{context.DeadlineExceeded, 503, "context deadline exceeded"},
		{errors.New("plain"), 500, "plain"},
	}
	for _, tt := range tests {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			kv := &fakeKV{err: tt.err}
			rec := do(t, kv, method, "/v1/kv/k", strings.NewReader("v"), nil)
			if rec.Code != tt.code {
				t.Errorf("%s %v: code = %d, want %d", method, tt.err, rec.Code, tt.code)
				continue
			}
			if msg := errorOf(t, rec); msg != tt.msg {
				t.Errorf("%s %v: error = %q, want %q", method, tt.err, msg, tt.msg)
			}
		}
	}
}

func TestHTTPBodyTooLarge(t *testing.T) {
	kv := &fakeKV{put: &pb.PutResponse{}}
	h := newHTTPHandler(kv, nil, nil, httpConfig{MaxBodyBytes: 4})
	if rec := doWith(t, h, "PUT", "/v1/kv/k", strings.NewReader("1234"), nil); rec.Code != http.StatusNoContent {
		t.Fatalf("4 bytes: code = %d, want 204", rec.Code)
	}
	// Once with a Content-Length, once streamed without one.
	bodies := []io.Reader{strings.NewReader("12345"), io.MultiReader(strings.NewReader("12"), strings.NewReader("345"))}
	for i, body := range bodies {
		rec := doWith(t, h, "PUT", "/v1/kv/k", body, nil)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("body %d: code = %d, want 413", i, rec.Code)
			continue
		}
		if msg := errorOf(t, rec); !strings.Contains(msg, "4 bytes") {
			t.Errorf("body %d: error %q does not name the limit", i, msg)
		}
	}
	if n := kv.count(); n != 1 {
		t.Errorf("backend got %d puts, want 1", n)
	}
}

func TestHTTPRouting(t *testing.T) {
	tests := []struct {
		method, path string
		code         int
		allow        string
	}{
		{"PUT", "/v1/kv/", 400, ""},
		{"GET", "/v1/kv/", 400, ""},
		{"DELETE", "/v1/kv/", 400, ""},
		{"POST", "/v1/kv/k", 405, "GET, HEAD, PUT, DELETE"},
		{"PATCH", "/v1/kv/k", 405, "GET, HEAD, PUT, DELETE"},
		{"DELETE", "/v1/cluster/members", 405, "GET, HEAD"},
		{"POST", "/v1/cluster/ring", 405, "GET, HEAD"},
		{"PUT", "/metrics", 405, "GET, HEAD"},
		{"GET", "/v2/kv/k", 404, ""},
		{"GET", "/v1/status", 404, ""}, // no status func given
	}
	for _, tt := range tests {
		kv := &fakeKV{}
		rec := do(t, kv, tt.method, tt.path, strings.NewReader("v"), nil)
		if rec.Code != tt.code {
			t.Errorf("%s %s: code = %d, want %d", tt.method, tt.path, rec.Code, tt.code)
			continue
		}
		errorOf(t, rec)
		if got := rec.Header().Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tt.method, tt.path, got, tt.allow)
		}
		if kv.count() != 0 {
			t.Errorf("%s %s: backend was called", tt.method, tt.path)
		}
	}
}

var cluster = &pb.ClusterInfoResponse{
	Members: []*pb.Member{
		{Id: "a", Zone: "z1", Weight: 1, GrpcAddr: "127.0.0.1:9090", HttpAddr: "127.0.0.1:8080", Status: "active", Alive: true},
		{Id: "b", Zone: "z2", Weight: 2, GrpcAddr: "127.0.0.1:9091", HttpAddr: "127.0.0.1:8081", Status: "active", Alive: true},
		{Id: "c", Zone: "z1", Weight: 1, GrpcAddr: "127.0.0.1:9092", HttpAddr: "127.0.0.1:8082", Status: "leaving"},
	},
	Partitions: 3, Replicas: 2, RingVersion: 7, RingSize: 3,
	Owners: []uint32{0, 1, 1, 2, 1, 0},
}

func TestHTTPClusterMembers(t *testing.T) {
	rec := do(t, &fakeKV{cluster: cluster}, "GET", "/v1/cluster/members", nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("code = %d, want 200", rec.Code)
	}
	var got []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("decode %q: %v", rec.Body, err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d members, want 3", len(got))
	}
	want := map[string]any{"id": "c", "zone": "z1", "weight": 1.0, "grpc_addr": "127.0.0.1:9092",
		"http_addr": "127.0.0.1:8082", "status": "leaving", "alive": false}
	for k, v := range want {
		if got[2][k] != v {
			t.Errorf("member c: %s = %v, want %v", k, got[2][k], v)
		}
	}
}

func TestHTTPClusterRing(t *testing.T) {
	rec := do(t, &fakeKV{cluster: cluster}, "GET", "/v1/cluster/ring", nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("code = %d, want 200; body %q", rec.Code, rec.Body)
	}
	var got ringView
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("decode %q: %v", rec.Body, err)
	}
	want := ringView{
		Partitions: 3, Replicas: 2, RingVersion: 7, RingSize: 3,
		Load:   map[string]int{"a": 2, "b": 3, "c": 1},
		Owners: [][]string{{"a", "b"}, {"b", "c"}, {"b", "a"}},
	}
	if !jsonEqual(t, got, want) {
		t.Errorf("ring = %+v, want %+v", got, want)
	}
}

func TestHTTPClusterRingSmallRing(t *testing.T) {
	// Two ring members, three replicas: two owners per partition.
	small := &pb.ClusterInfoResponse{
		Members:    []*pb.Member{{Id: "a"}, {Id: "b"}},
		Partitions: 2, Replicas: 3, RingSize: 2, Owners: []uint32{0, 1, 1, 0},
	}
	rec := do(t, &fakeKV{cluster: small}, "GET", "/v1/cluster/ring", nil, nil)
	var got ringView
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		t.Fatalf("code %d, body %q: %v", rec.Code, rec.Body, err)
	}
	if !jsonEqual(t, got.Owners, [][]string{{"a", "b"}, {"b", "a"}}) {
		t.Errorf("owners = %v", got.Owners)
	}
}

func TestHTTPClusterRingMalformed(t *testing.T) {
	for _, bad := range []*pb.ClusterInfoResponse{
		{Members: []*pb.Member{{Id: "a"}}, Partitions: 2, Replicas: 1, RingSize: 1, Owners: []uint32{0}},
		{Members: []*pb.Member{{Id: "a"}}, Partitions: 1, Replicas: 1, RingSize: 1, Owners: []uint32{3}},
	} {
		h := newHTTPHandler(&fakeKV{cluster: bad}, nil, nil, httpConfig{Logger: discardLogger()})
		rec := doWith(t, h, "GET", "/v1/cluster/ring", nil, nil)
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("owners %v: code = %d, want 500", bad.Owners, rec.Code)
		}
		errorOf(t, rec)
	}
}

func TestHTTPClusterError(t *testing.T) {
	for _, path := range []string{"/v1/cluster/members", "/v1/cluster/ring"} {
		rec := do(t, &fakeKV{err: status.Error(codes.Unavailable, "no ring yet")}, "GET", path, nil, nil)
		if rec.Code != http.StatusServiceUnavailable || errorOf(t, rec) != "no ring yet" {
			t.Errorf("%s: got %d %q, want 503 no ring yet", path, rec.Code, rec.Body)
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	st := func(context.Context) any { return map[string]any{"node": "a", "uptime_ms": 12} }
	h := newHTTPHandler(&fakeKV{}, st, nil, httpConfig{})
	rec := doWith(t, h, "GET", "/v1/status", nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("code = %d, want 200", rec.Code)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("decode %q: %v", rec.Body, err)
	}
	if got["node"] != "a" || got["uptime_ms"] != 12.0 {
		t.Errorf("status = %v", got)
	}
	if rec := doWith(t, h, "POST", "/v1/status", nil, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/status: code = %d, want 405", rec.Code)
	}
}

func TestHTTPPprof(t *testing.T) {
	h := newHTTPHandler(&fakeKV{}, nil, nil, httpConfig{})
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
		rec := doWith(t, h, "GET", path, nil, nil)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: code = %d, want 200", path, rec.Code)
		}
	}
	rec := doWith(t, h, "GET", "/debug/pprof/", nil, nil)
	if !strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("pprof index does not list goroutine: %.200q", rec.Body)
	}
}

func TestHTTPRequestsCounted(t *testing.T) {
	m := newMetrics(metricsSources{})
	kv := &fakeKV{put: &pb.PutResponse{}, get: &pb.GetResponse{}}
	h := newHTTPHandler(kv, nil, m, httpConfig{})
	doWith(t, h, "PUT", "/v1/kv/k", strings.NewReader("v"), nil)
	doWith(t, h, "PUT", "/v1/kv/k", strings.NewReader("v"), nil)
	doWith(t, h, "GET", "/v1/kv/k", nil, nil)
	doWith(t, h, "GET", "/v1/kv/k?w=x", nil, nil)
	doWith(t, h, "POST", "/v1/kv/k", nil, nil)
	doWith(t, h, "GET", "/nowhere", nil, nil)
	for _, tt := range []struct {
		route, code string
		want        float64
	}{
		{"kv_put", "204", 2},
		{"kv_get", "404", 1},
		{"kv_get", "400", 1},
		{"kv", "405", 1},
		{"other", "404", 1},
	} {
		got := gatherValue(t, m, "chorus_http_requests_total", map[string]string{"route": tt.route, "code": tt.code})
		if got != tt.want {
			t.Errorf("route %s code %s: %v requests, want %v", tt.route, tt.code, got, tt.want)
		}
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("marshal: %v %v", err1, err2)
	}
	return bytes.Equal(ja, jb)
}
