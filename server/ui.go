package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// uiFiles are the dashboard's page, script and style sheet: plain files,
// no build step and nothing fetched from elsewhere, so /ui/ works on a
// machine without internet access.
//
//go:embed ui
var uiFiles embed.FS

// uiCookie holds a bearer token for the dashboard: a browser cannot send
// an Authorization header on a page load, so /ui/?token=T stores T here
// (HttpOnly, SameSite=Strict) and the page and its data are authorized
// by it. It is read for the dashboard's GET routes only, never for the
// KV API or membership changes.
const uiCookie = "chorus_ui_token"

// Dashboard timing.
const (
	// uiFetchTimeout bounds the wait for one peer's summary: the page
	// polls every 2 s and one slow node must not hold up the others.
	uiFetchTimeout = 1500 * time.Millisecond
	// uiRateWindow is how far back the rates reach, uiRateGap the
	// shortest spacing of the samples kept.
	uiRateWindow = 10 * time.Second
	uiRateGap    = 500 * time.Millisecond
)

// nodeUI is a node's share of the dashboard: the sampler of its rates and
// the client it asks peers for their summaries with.
type nodeUI struct {
	rates    *rateSampler
	requests *prometheus.Registry
	client   *http.Client
	scheme   string
	self     string
	// peerKey vouches for this node's requests to peers (ui_peer.go); nil
	// without a gossip key, when the user's credential is passed on.
	peerKey []byte
}

// newNodeUI builds the node's dashboard state; it starts no goroutine.
// With TLS, peers' HTTP listeners are dialed as peers are: their
// certificate must be a node's and name their host.
func newNodeUI(m *metrics, creds Credentials, self string, gossipKey []byte) *nodeUI {
	tr := &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second, ResponseHeaderTimeout: uiFetchTimeout}
	u := &nodeUI{rates: newRateSampler(uiRateWindow, uiRateGap, requestBuckets), requests: uiRequests(m),
		client: &http.Client{Transport: tr, Timeout: uiFetchTimeout}, scheme: "http",
		self: self, peerKey: uiPeerKey(gossipKey)}
	if creds != nil {
		u.scheme = "https"
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			cfg := creds.PeerDialTo(addr)
			// No client certificate: the client listener refuses a node's
			// (it is no user); the request is vouched for by headerUIPeer.
			cfg.GetClientCertificate = nil
			cfg.Certificates = nil
			d := &tls.Dialer{Config: cfg}
			return d.DialContext(ctx, network, addr)
		}
	}
	return u
}

func (u *nodeUI) close() error {
	u.client.CloseIdleConnections()
	return nil
}

// uiRoutes are the dashboard's routes, registered by newHTTPHandler when
// httpConfig.UI is set.
type uiRoutes struct {
	// summary answers GET /v1/ui/node: this node's figures.
	summary func(ctx context.Context) any
	// state answers GET /v1/ui/state: the cluster, with every member's
	// summary; authz is the credential to present to the peers asked.
	state func(ctx context.Context, authz string) any
	// peer reports a request vouched for by a peer (ui_peer.go), served
	// without the user's credentials; nil: none is.
	peer func(r *http.Request, pattern string) bool
}

func (u *uiRoutes) register(handle func(pattern, route string, h http.HandlerFunc)) {
	handle("GET /v1/ui/node", "ui_node", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, u.summary(r.Context()))
	})
	handle("/v1/ui/node", "ui_node", methodNotAllowed("GET, HEAD"))
	handle("GET /v1/ui/state", "ui_state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, u.state(r.Context(), uiForwardAuth(r)))
	})
	handle("/v1/ui/state", "ui_state", methodNotAllowed("GET, HEAD"))
	handle("GET /ui/{file...}", "ui", uiStatic)
	handle("/ui/{file...}", "ui", methodNotAllowed("GET, HEAD"))
	handle("GET /ui", "ui", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
	})
}

// uiStatic serves the embedded files. /ui/?token=T stores T in the
// dashboard's cookie and redirects to /ui/, so the token leaves the
// address bar (and the history) at once.
func uiStatic(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The page loads only its own files and asks only its own node.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if tok := r.URL.Query().Get("token"); tok != "" {
		http.SetCookie(w, &http.Cookie{Name: uiCookie, Value: tok, Path: "/", HttpOnly: true,
			Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	name := r.PathValue("file")
	if name == "" {
		name = "index.html"
	}
	b, err := fs.ReadFile(uiFiles, path.Join("ui", path.Clean("/" + name)[1:]))
	if err != nil {
		writeError(w, http.StatusNotFound, "no dashboard file "+quoteInput(name))
		return
	}
	h.Set("Content-Type", uiContentType(name))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

func uiContentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}

// uiLogin answers a refused browser load of a dashboard page (not its
// data, not a script) with the sign-in form, which sends the token to
// /ui/?token=; it reports whether it did. Every other refusal is JSON.
func uiLogin(w http.ResponseWriter, r *http.Request, code int, msg string) bool {
	if r.Method != http.MethodGet || !strings.Contains(r.Header.Get("Accept"), "text/html") ||
		(r.URL.Path != "/ui" && r.URL.Path != "/ui/" && r.URL.Path != "/ui/index.html") {
		return false
	}
	b, err := fs.ReadFile(uiFiles, "ui/login.html")
	if err != nil {
		return false
	}
	page := strings.Replace(string(b), "{{MESSAGE}}", html.EscapeString(fmt.Sprintf("%d: %s", code, msg)), 1)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// No script, and its style inline: the style sheet is behind the
	// credentials this page asks for.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	io.WriteString(w, page)
	return true
}

// isUIRoute reports whether pattern (a mux pattern, method included or
// not) is one of the dashboard's, on which the cookie stands in for an
// Authorization header.
func isUIRoute(pattern string) bool {
	p := pattern
	if _, after, ok := strings.Cut(pattern, " "); ok {
		p = after
	}
	return p == "/ui" || strings.HasPrefix(p, "/ui/") || strings.HasPrefix(p, "/v1/ui/")
}

// uiAuthorization returns the Authorization values to check for a
// request without any: on the dashboard's GET routes, the token of
// /ui/?token= or of the dashboard's cookie.
func uiAuthorization(r *http.Request, pattern string) []string {
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !isUIRoute(pattern) {
		return nil
	}
	if tok := r.URL.Query().Get("token"); tok != "" && strings.HasPrefix(r.URL.Path, "/ui") {
		return []string{"Bearer " + tok}
	}
	if c, err := r.Cookie(uiCookie); err == nil && c.Value != "" {
		return []string{"Bearer " + c.Value}
	}
	return nil
}

// uiForwardAuth is the credential a /v1/ui/state request presents, to be
// presented in turn to the peers asked for their summaries (they check
// it against the same auth file).
func uiForwardAuth(r *http.Request) string {
	if v := r.Header.Get("Authorization"); v != "" {
		return v
	}
	if c, err := r.Cookie(uiCookie); err == nil && c.Value != "" {
		return "Bearer " + c.Value
	}
	return ""
}

// uiSummaryView answers GET /v1/ui/node.
func (n *Node) uiSummaryView(context.Context) any { return n.uiSummary(time.Now()) }

// uiStateView answers GET /v1/ui/state.
func (n *Node) uiStateView(ctx context.Context, authz string) any { return n.uiState(ctx, authz) }

// uiState gathers the cluster's state: the ring and members from this
// node's view, each member's summary from the member itself, asked in
// parallel over its HTTP address with a short timeout. A member the
// failure detector holds down is not asked.
func (n *Node) uiState(ctx context.Context, authz string) uiState {
	now := time.Now()
	s := uiState{Node: n.ID(), TimeMS: now.UnixMilli(), RingVersion: n.members.RingHash(), Nodes: map[string]uiNodeView{}}
	n.uiRing(&s, n.members.Records())
	self := n.uiSummary(now)
	// Each fetch writes its own slot; the map is filled after the wait.
	views := make([]uiNodeView, len(s.Members))
	var wg sync.WaitGroup
	for i, m := range s.Members {
		switch {
		case m.ID == n.ID():
			views[i] = uiNodeView{Summary: &self}
			continue
		case !m.Alive:
			views[i] = uiNodeView{Error: "down: the failure detector does not see it"}
			continue
		case m.HTTPAddr == "":
			views[i] = uiNodeView{Error: "no HTTP address known"}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			sum, err := n.ui.fetch(ctx, m.ID, m.HTTPAddr, authz)
			views[i] = uiNodeView{FetchMS: uiMillis(time.Since(start))}
			if err != nil {
				views[i].Error = err.Error()
			} else {
				views[i].Summary = &sum
			}
		}()
	}
	wg.Wait()
	for i, m := range s.Members {
		s.Nodes[m.ID] = views[i]
	}
	if _, ok := s.Nodes[n.ID()]; !ok { // not (or no longer) a ring member
		s.Nodes[n.ID()] = uiNodeView{Summary: &self}
	}
	return s
}

// fetch asks the node id at addr for its summary.
func (u *nodeUI) fetch(ctx context.Context, id, addr, authz string) (uiSummary, error) {
	ctx, cancel := context.WithTimeout(ctx, uiFetchTimeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.scheme+"://"+addr+"/v1/ui/node", nil)
	if err != nil {
		return uiSummary{}, fmt.Errorf("unreachable: %w", err)
	}
	switch {
	case u.peerKey != nil:
		req.Header.Set(headerUIPeer, signUIPeer(u.peerKey, u.self, id, time.Now()))
	case authz != "":
		req.Header.Set("Authorization", authz)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return uiSummary{}, fmt.Errorf("unreachable after %v: %w", time.Since(start).Round(time.Millisecond), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxUISummaryBytes+1))
	if err != nil {
		return uiSummary{}, fmt.Errorf("unreachable after %v: %w", time.Since(start).Round(time.Millisecond), err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		_ = json.Unmarshal(b, &e)
		return uiSummary{}, fmt.Errorf("answered %d: %s", resp.StatusCode, cmp.Or(e.Error, http.StatusText(resp.StatusCode)))
	}
	s, err := decodeUISummary(b)
	if err != nil {
		return uiSummary{}, err
	}
	if s.Node != id {
		return uiSummary{}, fmt.Errorf("%s answered as node %q", addr, s.Node)
	}
	return s, nil
}
