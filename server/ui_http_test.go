package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/auth"
	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/transport/pb"
)

// uiHandler is the HTTP API with the dashboard's routes, behind cfg, the
// state and summary canned; authz records what the state route was asked
// to present to peers.
func uiHandler(t *testing.T, cfg *AuthConfig, peerKey []byte, authz *string) http.Handler {
	t.Helper()
	routes := &uiRoutes{
		summary: func(context.Context) any { return uiSummary{Node: "a"} },
		state: func(_ context.Context, a string) any {
			*authz = a
			return uiState{Node: "a", Members: []uiMember{{ID: "a"}}, Owners: [][]int{}, Nodes: map[string]uiNodeView{}}
		},
		peer: uiPeerCheck(peerKey, func() string { return "a" }),
	}
	return newHTTPHandler(&fakeKV{cluster: &pb.ClusterInfoResponse{}}, func(context.Context) any { return map[string]string{"node": "a"} }, nil, httpConfig{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Auth: cfg, UI: routes})
}

// The dashboard and its data need the read role; a browser's token comes
// by /ui/?token= into a cookie that stands for it on the dashboard's GET
// routes only.
func TestUIAuth(t *testing.T) {
	cfg := &AuthConfig{Authorizer: auth.NewStaticAuthorizer(testAuthTable(t)), PlaintextTokens: true}
	key := uiPeerKey([]byte("0123456789abcdef"))
	var authz string
	h := uiHandler(t, cfg, key, &authz)
	req := func(method, target string, hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		return serve(h, r)
	}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	cookie := func(tok string) map[string]string { return map[string]string{"Cookie": uiCookie + "=" + tok} }
	tests := []struct {
		name, method, target string
		hdr                  map[string]string
		want                 int
	}{
		{"state without credentials", "GET", "/v1/ui/state", nil, 401},
		{"state with a write-only token", "GET", "/v1/ui/state", bearer(tokenWrite), 403},
		{"state with a read token", "GET", "/v1/ui/state", bearer(tokenRead), 200},
		{"page without credentials", "GET", "/ui/", nil, 401},
		{"page with a write-only token", "GET", "/ui/", bearer(tokenWrite), 403},
		{"page with a read token", "GET", "/ui/", bearer(tokenRead), 200},
		{"script with a read token", "GET", "/ui/app.js", bearer(tokenRead), 200},
		{"page with a read cookie", "GET", "/ui/", cookie(tokenRead), 200},
		{"state with a read cookie", "GET", "/v1/ui/state", cookie(tokenRead), 200},
		{"state with a bad cookie", "GET", "/v1/ui/state", cookie("chorus_nope"), 401},
		{"KV with a cookie only", "GET", "/v1/kv/k", cookie(tokenAll), 401},
		{"status with a cookie only", "GET", "/v1/status", cookie(tokenAll), 401},
		{"page token that is wrong", "GET", "/ui/?token=chorus_nope", nil, 401},
		{"no such file", "GET", "/ui/nope.js", bearer(tokenRead), 404},
		{"POST to the state", "POST", "/v1/ui/state", bearer(tokenAll), 405},
		{"a peer's vouched summary", "GET", "/v1/ui/node", map[string]string{headerUIPeer: signUIPeer(key, "b", "a", time.Now())}, 200},
		{"a peer's header for another node", "GET", "/v1/ui/node", map[string]string{headerUIPeer: signUIPeer(key, "b", "c", time.Now())}, 401},
		{"a peer's header on the state", "GET", "/v1/ui/state", map[string]string{headerUIPeer: signUIPeer(key, "b", "a", time.Now())}, 401},
	}
	for _, tt := range tests {
		rec := req(tt.method, tt.target, tt.hdr)
		if rec.Code != tt.want {
			t.Errorf("%s: %s %s answered %d, want %d: %s", tt.name, tt.method, tt.target, rec.Code, tt.want, rec.Body)
			continue
		}
		if tt.want >= 400 && (rec.Header().Get("Content-Type") != "application/json" || ErrorOf(t, rec) == "") {
			t.Errorf("%s: a %d without a JSON error body: %q %s", tt.name, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}

	// /ui/?token= keeps the token in a cookie and takes it out of the
	// address; the cookie then authorizes the data, and is passed on.
	rec := req("GET", "/ui/?token="+tokenRead, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/" {
		t.Fatalf("/ui/?token=: %d to %q, want 303 to /ui/", rec.Code, rec.Header().Get("Location"))
	}
	c := rec.Result().Cookies()
	if len(c) != 1 || c[0].Name != uiCookie || c[0].Value != tokenRead || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("/ui/?token= set cookies %+v, want one HttpOnly SameSite=Strict %s", c, uiCookie)
	}
	if rec := req("GET", "/v1/ui/state", cookie(tokenRead)); rec.Code != 200 || authz != "Bearer "+tokenRead {
		t.Fatalf("state with the cookie: %d, passed on %q; want 200 and the token", rec.Code, authz)
	}
}

func TestUIStaticFiles(t *testing.T) {
	var authz string
	h := uiHandler(t, nil, nil, &authz)
	for _, tt := range []struct{ path, ctype, contains string }{
		{"/ui/", "text/html; charset=utf-8", `<script src="app.js"`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "/v1/ui/state"},
		{"/ui/style.css", "text/css; charset=utf-8", "--bg"},
	} {
		rec := serve(h, httptest.NewRequest("GET", tt.path, nil))
		if rec.Code != 200 || rec.Header().Get("Content-Type") != tt.ctype || !strings.Contains(rec.Body.String(), tt.contains) {
			t.Errorf("GET %s: %d %q, body without %q", tt.path, rec.Code, rec.Header().Get("Content-Type"), tt.contains)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q, want default-src 'self'", tt.path, csp)
		}
	}
	if rec := serve(h, httptest.NewRequest("GET", "/ui", nil)); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/ui/" {
		t.Errorf("GET /ui: %d to %q, want 301 to /ui/", rec.Code, rec.Header().Get("Location"))
	}
	if rec := serve(h, httptest.NewRequest("GET", "/ui/../../go.mod", nil)); rec.Code == 200 {
		t.Errorf("GET /ui/../../go.mod served a file: %s", rec.Body)
	}
	// Open without auth: no credential to pass on.
	rec := serve(h, httptest.NewRequest("GET", "/v1/ui/state", nil))
	var st uiState
	if err := json.Unmarshal(rec.Body.Bytes(), &st); rec.Code != 200 || err != nil || st.Node != "a" {
		t.Fatalf("GET /v1/ui/state without auth: %d %v %s", rec.Code, err, rec.Body)
	}
}

func TestUIAccessRules(t *testing.T) {
	for _, tt := range []struct {
		method, pattern string
		want            routeAccess
	}{
		{"GET", "GET /ui/{file...}", routeAccess{need: auth.Read}},
		{"HEAD", "GET /ui/{file...}", routeAccess{need: auth.Read}},
		{"GET", "GET /ui", routeAccess{need: auth.Read}},
		{"POST", "/ui/{file...}", routeAccess{need: auth.Admin}},
		{"GET", "GET /v1/ui/state", routeAccess{need: auth.Read}},
		{"GET", "GET /uix", routeAccess{need: auth.Admin}},
	} {
		if got := httpAccess(tt.method, tt.pattern, false); got != tt.want {
			t.Errorf("httpAccess(%s, %q) = %+v, want %+v", tt.method, tt.pattern, got, tt.want)
		}
	}
}

func TestUIJSONStyle(t *testing.T) {
	chorustest.JSONStyle(t, uiState{}, uiSummary{})
}

func TestDecodeUISummary(t *testing.T) {
	want := uiSummary{Node: "n1", Version: "v1", Rates: uiRates{Gets: 2.5}, Hints: uiHints{Targets: []uiHintTarget{{Target: "n2", Queued: 3}}}}
	b, _ := json.Marshal(want)
	got, err := decodeUISummary(b)
	if err != nil || got.Node != "n1" || got.Rates.Gets != 2.5 || len(got.Hints.Targets) != 1 || got.Hints.Targets[0].Queued != 3 {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "{", `{"node":""}`, `[]`, `{"node":"a","uptime_ms":"x"}`, `{"node":"a"}` + strings.Repeat(" ", maxUISummaryBytes)} {
		if _, err := decodeUISummary([]byte(bad)); err == nil {
			t.Errorf("decodeUISummary(%.40q) accepted", bad)
		}
	}
}

// FuzzDecodeUISummary: a peer's answer never panics the decoder, and what
// it accepts names a node.
func FuzzDecodeUISummary(f *testing.F) {
	b, _ := json.Marshal(uiSummary{Node: "n1", Transfers: uiTransfers{List: []uiTransfer{{Partition: 3, Progress: 0.5}}},
		AntiEntropy: uiAAE{Enabled: true, Peers: []uiAAEPeer{{Peer: "n2"}}}})
	f.Add(b)
	f.Add([]byte(`{"node":"x","rates":{"warming":true}}`))
	f.Add([]byte(`{"node":1}`))
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeUISummary(b)
		if err == nil && s.Node == "" {
			t.Fatalf("accepted a summary without a node: %q", b)
		}
	})
}

// A browser opening the dashboard without credentials gets the sign-in
// form (401, HTML, the reason escaped); a script or the data, JSON.
func TestUILoginPage(t *testing.T) {
	cfg := &AuthConfig{Authorizer: auth.NewStaticAuthorizer(testAuthTable(t)), PlaintextTokens: true}
	var authz string
	h := uiHandler(t, cfg, nil, &authz)
	get := func(target, accept, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", target, nil)
		r.Header.Set("Accept", accept)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		return serve(h, r)
	}
	const browser = "text/html,application/xhtml+xml,*/*;q=0.8"
	rec := get("/ui/", browser, "")
	if rec.Code != 401 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(rec.Body.String(), `<form method="get" action="/ui/">`) || !strings.Contains(rec.Body.String(), "401: unauthenticated") {
		t.Fatalf("browser without credentials: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	rec = get("/ui/", browser, tokenWrite)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "403: forbidden: token &#34;deploy&#34;") {
		t.Fatalf("browser with a write-only token: %d %s", rec.Code, rec.Body)
	}
	for _, tt := range []struct{ target, accept string }{
		{"/ui/", "application/json"}, {"/ui/app.js", browser}, {"/v1/ui/state", browser},
	} {
		if rec := get(tt.target, tt.accept, ""); rec.Code != 401 || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("GET %s (Accept %s): %d %q, want 401 in JSON", tt.target, tt.accept, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}
