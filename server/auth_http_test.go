package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chorusdb/chorus/auth"
	"github.com/chorusdb/chorus/transport/pb"
)

// testAuthFile grants each role to one certificate user and one token.
const testAuthFile = `
users:
  - name: reader
    roles: [read]
  - name: writer
    roles: [write]
  - name: admin
    roles: [admin]
tokens:
  - name: ci
    sha256: %s
    roles: [read]
  - name: deploy
    sha256: %s
    roles: [write]
  - name: ops
    sha256: %s
    roles: [read, write, admin]
`

const (
	tokenRead  = "chorus_read-token"
	tokenWrite = "chorus_write-token"
	tokenAll   = "chorus_all-roles-token"
)

func testAuthTable(t testing.TB) *auth.Table {
	t.Helper()
	f, err := auth.Decode([]byte(testAuthFileText()))
	if err != nil {
		t.Fatal(err)
	}
	return auth.NewTable(f)
}

// testAuthFileText is testAuthFile with the tokens' hashes filled in.
func testAuthFileText() string {
	s := testAuthFile
	for _, tok := range []string{tokenRead, tokenWrite, tokenAll} {
		s = strings.Replace(s, "%s", auth.HashTokenHex(tok), 1)
	}
	return s
}

// fakeAdmin accepts every membership change.
type fakeAdmin struct{}

func (fakeAdmin) StartLeave() error                    { return nil }
func (fakeAdmin) Remove(context.Context, string) error { return nil }
func (fakeAdmin) LeaveStatus() LeaveStatus             { return LeaveStatus{} }
func (fakeAdmin) Left() <-chan struct{}                { return nil }

// authHandler is a full HTTP API (KV, views, status, admin routes,
// health) behind cfg.
func authHandler(t *testing.T, cfg *AuthConfig, m *metrics) http.Handler {
	t.Helper()
	kv := &fakeKV{
		get:     &pb.GetResponse{Found: true, Siblings: []*pb.Sibling{{Value: []byte("v")}}, Info: info},
		put:     &pb.PutResponse{Info: info},
		del:     &pb.DeleteResponse{Info: info},
		cluster: &pb.ClusterInfoResponse{},
	}
	return newHTTPHandler(kv, func(context.Context) any { return map[string]string{"node": "a"} }, m, httpConfig{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Admin:  fakeAdmin{},
		Views: map[string]func(context.Context) any{
			"/v1/transfers": func(context.Context) any { return []string{} },
		},
		Auth: cfg,
	})
}

// who is a request's credentials in a test: a verified certificate's
// common name, a bearer token, or both.
type who struct{ cn, token string }

// identity is how refusals name w.
func (w who) identity() string {
	if name, ok := map[string]string{tokenRead: "ci", tokenWrite: "deploy", tokenAll: "ops"}[w.token]; ok {
		return `token "` + name + `"`
	}
	return `user "` + w.cn + `"`
}

// authRequest builds a request presenting w: a TLS connection state whose
// verified chain holds a certificate for w.cn, and an Authorization
// header for w.token. A request with neither comes over plaintext.
func authRequest(method, target string, w who) *http.Request {
	var body io.Reader
	if method == http.MethodPut {
		body = strings.NewReader("value")
	}
	r := httptest.NewRequest(method, target, body)
	if w.cn != "" {
		cert := &x509.Certificate{Subject: pkix.Name{CommonName: w.cn, OrganizationalUnit: []string{"client"}}}
		r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, PeerCertificates: []*x509.Certificate{cert},
			VerifiedChains: [][]*x509.Certificate{{cert}}}
	}
	if w.token != "" {
		r.Header.Set("Authorization", "Bearer "+w.token)
	}
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// Each route answers each role as the rules say: 200-class with the role,
// 403 without it, 401 without credentials.
func TestHTTPAuthRoles(t *testing.T) {
	cfg := &AuthConfig{Authorizer: auth.NewStaticAuthorizer(testAuthTable(t)), PlaintextTokens: true}
	h := authHandler(t, cfg, nil)
	routes := []struct {
		method, path string
		need         string // read, write, admin, open or "any" (authenticated: the route answers 404/405)
		ok           int
	}{
		{"GET", "/v1/kv/k", "read", 200},
		{"HEAD", "/v1/kv/k", "read", 200},
		{"GET", "/v1/kv", "read", 400}, // the empty key: routed, then refused as input
		{"PUT", "/v1/kv/k", "write", 204},
		{"DELETE", "/v1/kv/k", "write", 204},
		{"POST", "/v1/kv/k", "any", 405},
		{"GET", "/v1/status", "read", 200},
		{"GET", "/v1/cluster/members", "read", 200},
		{"GET", "/v1/transfers", "read", 200},
		{"POST", "/v1/cluster/leave", "admin", 202},
		{"POST", "/v1/cluster/remove/b", "admin", 200},
		{"GET", "/debug/pprof/cmdline", "admin", 200},
		{"GET", "/metrics", "admin", 200},
		{"GET", "/healthz", "open", 200},
		{"GET", "/readyz", "open", 200},
		{"GET", "/nowhere", "any", 404},
		{"GET", "/v1/nowhere", "any", 404},
	}
	holders := map[string][]who{ // who has each role, by certificate and by token
		"read":  {{cn: "reader"}, {token: tokenRead}, {token: tokenAll}},
		"write": {{cn: "writer"}, {token: tokenWrite}, {token: tokenAll}},
		"admin": {{cn: "admin"}, {token: tokenAll}},
	}
	everyone := []who{{cn: "reader"}, {cn: "writer"}, {cn: "admin"}, {token: tokenRead}, {token: tokenWrite}, {token: tokenAll}}
	for _, rt := range routes {
		// Without credentials: 401 with a challenge, except open routes.
		rec := serve(h, authRequest(rt.method, rt.path, who{}))
		if rt.need == "open" {
			if rec.Code != rt.ok {
				t.Errorf("%s %s without credentials: %d, want %d (open)", rt.method, rt.path, rec.Code, rt.ok)
			}
			continue
		}
		if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s %s without credentials: %d (WWW-Authenticate %q), want 401 with a Bearer challenge",
				rt.method, rt.path, rec.Code, rec.Header().Get("WWW-Authenticate"))
		} else if msg := errorOf(t, rec); !strings.Contains(msg, "no credentials") {
			t.Errorf("%s %s without credentials: message %q", rt.method, rt.path, msg)
		}
		for _, w := range everyone {
			holds := rt.need == "any"
			for _, h := range holders[rt.need] {
				holds = holds || h == w
			}
			rec := serve(h, authRequest(rt.method, rt.path, w))
			switch {
			case holds && rec.Code != rt.ok:
				t.Errorf("%s %s as %+v: %d %s, want %d", rt.method, rt.path, w, rec.Code, rec.Body, rt.ok)
			case !holds && rec.Code != http.StatusForbidden:
				t.Errorf("%s %s as %+v: %d, want 403", rt.method, rt.path, w, rec.Code)
			case !holds:
				msg := errorOf(t, rec)
				if !strings.Contains(msg, "needs role "+rt.need) || !strings.Contains(msg, w.identity()) {
					t.Errorf("%s %s as %+v: message %q should name the role %s and the identity", rt.method, rt.path, w, msg, rt.need)
				}
			}
		}
	}
}

func TestHTTPAuthIdentities(t *testing.T) {
	cfg := &AuthConfig{Authorizer: auth.NewStaticAuthorizer(testAuthTable(t))}
	h := authHandler(t, cfg, nil)
	tests := []struct {
		name string
		req  *http.Request
		code int
		msg  string
	}{
		{"unlisted certificate", authRequest("GET", "/v1/kv/k", who{cn: "mallory"}), 403, `user "mallory" is not in the auth file`},
		{"forbidden names the token", authRequest("PUT", "/v1/kv/k", who{cn: "writer", token: tokenRead}), 403, `token "ci" has roles read; this request needs role write`},
		{"unknown token", authRequest("GET", "/v1/kv/k", who{cn: "reader", token: "chorus_guess"}), 401, "unknown bearer token"},
		{"token over plaintext", authRequest("GET", "/v1/kv/k", who{token: tokenRead}), 401, "over TLS only"},
		{"basic auth", func() *http.Request {
			r := authRequest("GET", "/v1/kv/k", who{cn: "reader"})
			r.SetBasicAuth("reader", "pw")
			return r
		}(), 401, `scheme "Basic" is not supported`},
		{"empty bearer", func() *http.Request {
			r := authRequest("GET", "/v1/kv/k", who{cn: "reader"})
			r.Header.Set("Authorization", "Bearer ")
			return r
		}(), 401, "empty bearer token"},
		{"two authorization headers", func() *http.Request {
			r := authRequest("GET", "/v1/kv/k", who{cn: "reader", token: tokenRead})
			r.Header.Add("Authorization", "Bearer "+tokenAll)
			return r
		}(), 401, "given 2 times"},
		{"lower-case scheme", func() *http.Request {
			r := authRequest("GET", "/v1/kv/k", who{cn: "writer"})
			r.Header.Set("Authorization", "bearer "+tokenRead)
			return r
		}(), 200, ""},
		{"certificate not verified", func() *http.Request {
			r := authRequest("GET", "/v1/kv/k", who{cn: "reader"})
			r.TLS.VerifiedChains = nil
			return r
		}(), 401, "no credentials"},
		{"unclean path of a stranger", authRequest("GET", "/v1/kv/../debug/pprof/", who{}), 401, "no credentials"},
		{"unclean path of a reader", authRequest("GET", "/v1/kv/a//b", who{cn: "reader"}), 400, "empty, . or .. segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, tt.req)
			if rec.Code != tt.code {
				t.Fatalf("code %d %s, want %d", rec.Code, rec.Body, tt.code)
			}
			if tt.msg != "" {
				if msg := errorOf(t, rec); !strings.Contains(msg, tt.msg) {
					t.Errorf("message %q does not contain %q", msg, tt.msg)
				}
			}
			if strings.Contains(rec.Body.String(), "chorus_") {
				t.Errorf("answer %q echoes a token", rec.Body)
			}
		})
	}
}

// Without an auth file, every verified certificate has every role and no
// token is accepted.
func TestHTTPAuthWithoutFile(t *testing.T) {
	cfg := &AuthConfig{Authorizer: auth.NewStaticAuthorizer(nil), PlaintextTokens: true}
	h := authHandler(t, cfg, nil)
	for _, r := range []*http.Request{
		authRequest("PUT", "/v1/kv/k", who{cn: "anyone"}),
		authRequest("POST", "/v1/cluster/leave", who{cn: "anyone"}),
		authRequest("GET", "/debug/pprof/cmdline", who{cn: "anyone"}),
	} {
		if rec := serve(h, r); rec.Code >= 300 {
			t.Errorf("%s %s with a certificate: %d %s", r.Method, r.URL.Path, rec.Code, rec.Body)
		}
	}
	rec := serve(h, authRequest("GET", "/v1/kv/k", who{token: tokenAll}))
	if rec.Code != http.StatusUnauthorized || !strings.Contains(errorOf(t, rec), "no auth file: tokens are not configured") {
		t.Errorf("token without an auth file: %d %s, want 401 naming the reason", rec.Code, rec.Body)
	}
}

func TestHTTPAuthOpenMetricsAndCounts(t *testing.T) {
	m := newMetrics(metricsSources{})
	closed := authHandler(t, &AuthConfig{Authorizer: auth.NewStaticAuthorizer(testAuthTable(t))}, m)
	open := authHandler(t, &AuthConfig{Authorizer: auth.NewStaticAuthorizer(testAuthTable(t)), OpenMetrics: true}, m)
	if rec := serve(closed, authRequest("GET", "/metrics", who{})); rec.Code != http.StatusUnauthorized {
		t.Errorf("/metrics without credentials: %d, want 401", rec.Code)
	}
	if rec := serve(closed, authRequest("GET", "/metrics", who{cn: "reader"})); rec.Code != http.StatusForbidden {
		t.Errorf("/metrics as a reader: %d, want 403", rec.Code)
	}
	rec := serve(open, authRequest("GET", "/metrics", who{}))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `chorus_auth_denied_total{api="http",reason="forbidden"} 1`) ||
		!strings.Contains(rec.Body.String(), `chorus_auth_denied_total{api="http",reason="unauthenticated"} 1`) {
		t.Errorf("open /metrics: %d, want 200 with one refusal of each kind counted:\n%s", rec.Code, grepLines(rec.Body.String(), "chorus_auth"))
	}
	if got := gatherValue(t, m, "chorus_http_requests_total", map[string]string{"route": "denied", "code": "401"}); got != 1 {
		t.Errorf("chorus_http_requests_total{route=denied,code=401} = %v, want 1", got)
	}
	if rec := serve(open, authRequest("GET", "/debug/pprof/cmdline", who{})); rec.Code != http.StatusUnauthorized {
		t.Errorf("pprof with OpenMetrics: %d, want 401", rec.Code)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func TestHTTPAccessRules(t *testing.T) {
	tests := []struct {
		method, pattern string
		open            bool
		want            routeAccess
	}{
		{"GET", "GET /v1/kv/{key...}", false, routeAccess{need: auth.Read}},
		{"PUT", "PUT /v1/kv", false, routeAccess{need: auth.Write}},
		{"PATCH", "/v1/kv/{key...}", false, routeAccess{}},
		{"GET", "GET /v1/anti-entropy", false, routeAccess{need: auth.Read}},
		{"POST", "/v1/status", false, routeAccess{need: auth.Admin}},
		{"POST", "POST /v1/cluster/remove/{node}", false, routeAccess{need: auth.Admin}},
		{"GET", "GET /metrics", false, routeAccess{need: auth.Admin}},
		{"GET", "GET /metrics", true, routeAccess{open: true, need: auth.Admin}},
		{"GET", "/debug/pprof/", false, routeAccess{need: auth.Admin}},
		{"GET", "GET /healthz", false, routeAccess{open: true}},
		{"GET", "GET /readyz/details", false, routeAccess{open: true}},
		{"GET", "/", false, routeAccess{}},
		{"GET", "", false, routeAccess{}},
		{"GET", "GET /v2/new-thing", false, routeAccess{need: auth.Admin}}, // no rule: closed
	}
	for _, tt := range tests {
		if got := httpAccess(tt.method, tt.pattern, tt.open); got != tt.want {
			t.Errorf("httpAccess(%s, %q, open metrics %v) = %+v, want %+v", tt.method, tt.pattern, tt.open, got, tt.want)
		}
	}
}
