package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/chorusdb/chorus/auth"
)

// routeAccess is what a route asks of a request's credentials.
type routeAccess struct {
	open bool      // served to anyone, without credentials
	need auth.Role // 0: any authenticated identity
}

// httpAccess classifies a request by its method and the path of the mux
// pattern that will serve it (the pattern, not the request's path, so the
// role follows the handler actually chosen). The rules:
//
//   - /healthz and /readyz (and anything below them) are open, and so is
//     /metrics with OpenMetrics; otherwise /metrics and /debug/ (pprof)
//     need admin.
//   - /v1/kv: GET and HEAD need read, PUT and DELETE write; other methods
//     only answer 405, to anyone authenticated.
//   - /v1/admin/ (backup, restore) needs admin for every method: a backup
//     reads every key, a restore writes any.
//   - Other /v1/ routes: GET and HEAD need read (status, the cluster
//     views); any other method needs admin, as membership changes do.
//   - The catch-all "/" (no route) needs authentication only: a stranger
//     gets 401 before learning whether a path exists, anyone known gets
//     the 404.
//   - The dashboard (/ui/): GET and HEAD need read, as its data
//     (/v1/ui/) does.
//   - Anything else needs admin, so that a route added without a rule here
//     is closed rather than open.
func httpAccess(method, pattern string, openMetrics bool) routeAccess {
	path := pattern
	if _, p, ok := strings.Cut(pattern, " "); ok {
		path = p // "GET /v1/status" -> "/v1/status"
	}
	read := method == http.MethodGet || method == http.MethodHead
	switch {
	case path == "" || path == "/":
		return routeAccess{}
	case strings.HasPrefix(path, "/healthz") || strings.HasPrefix(path, "/readyz"):
		return routeAccess{open: true}
	case path == "/metrics":
		return routeAccess{open: openMetrics, need: auth.Admin}
	case path == "/v1/kv" || strings.HasPrefix(path, "/v1/kv/"):
		switch {
		case read:
			return routeAccess{need: auth.Read}
		case method == http.MethodPut || method == http.MethodDelete:
			return routeAccess{need: auth.Write}
		}
		return routeAccess{}
	case (path == "/ui" || strings.HasPrefix(path, "/ui/")) && read:
		return routeAccess{need: auth.Read}
	case strings.HasPrefix(path, "/v1/admin/"):
		return routeAccess{need: auth.Admin}
	case strings.HasPrefix(path, "/v1/") && read:
		return routeAccess{need: auth.Read}
	}
	return routeAccess{need: auth.Admin}
}

// authorized serves next to the requests cfg's authorizer lets through,
// classified by the route mux would choose (httpAccess), and answers the
// others: 401 with a WWW-Authenticate challenge, or 403 naming the
// identity and the role needed. Authorization comes before routing, so a
// stranger learns nothing of which routes exist.
func (a *httpAPI) authorized(cfg *AuthConfig, mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		access := httpAccess(r.Method, pattern, cfg.OpenMetrics)
		if access.open || (a.uiPeer != nil && a.uiPeer(r, pattern)) {
			next.ServeHTTP(w, r)
			return
		}
		authz := r.Header.Values("Authorization")
		if len(authz) == 0 {
			authz = uiAuthorization(r, pattern) // the dashboard's cookie (ui.go)
		}
		creds, err := cfg.credentials(r.TLS, authz)
		if err == nil {
			_, err = cfg.Authorizer.Authorize(creds, access.need)
		}
		if err != nil {
			a.deny(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// deny answers a refused request: 403 for a known identity without the
// role (or a certificate the auth file does not list), 401 otherwise.
func (a *httpAPI) deny(w http.ResponseWriter, r *http.Request, err error) {
	code, reason := http.StatusUnauthorized, deniedUnauthenticated
	if errors.Is(err, auth.ErrForbidden) {
		code, reason = http.StatusForbidden, deniedForbidden
	} else {
		// RFC 6750: a 401 names the scheme the client should use.
		w.Header().Set("WWW-Authenticate", `Bearer realm="chorus"`)
	}
	a.m.countDenied("http", reason)
	a.m.countHTTP("denied", code)
	a.log.Debug("http: request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", denialMessage(err))
	if uiLogin(w, r, code, denialMessage(err)) { // a browser opening the dashboard: the sign-in form
		return
	}
	writeError(w, code, denialMessage(err))
}
