package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzHTTPAPI sends arbitrary requests through the real HTTP handler of a
// one-node cluster (real coordinator and storage): whatever the method,
// path, query, context header and body, the answer is one of the API's
// statuses (never a redirect), never a panic, and every error answer is a
// JSON object with an "error" message of bounded length.
func FuzzHTTPAPI(f *testing.F) {
	for _, seed := range []struct{ method, path, query, ctxHdr, body string }{
		{"PUT", "/v1/kv/k", "", "", "v"},
		{"GET", "/v1/kv/k", "r=1", "", ""},
		{"DELETE", "/v1/kv/k", "", "AQEBYQE", ""},
		{"PUT", "/v1/kv/a/b", "w=2&n=1&timeout=5ms&durable=false", "", "x"},
		{"PUT", "/v1/kv/k", "w=-1", "", ""},
		{"GET", "/v1/cluster/ring", "", "", ""},
		{"PATCH", "/v1/kv/", "pw=99999999999", "%%%", "\x00"},
	} {
		f.Add(seed.method, seed.path, seed.query, seed.ctxHdr, []byte(seed.body))
	}
	n, _ := startOneNode(f)
	h := newHTTPHandler(n.kv, n.status, n.metrics, httpConfig{MaxBodyBytes: 1 << 16, Logger: n.log})
	// No redirects: the router's own answers are replaced by JSON errors.
	allowed := map[int]bool{200: true, 204: true, 300: true,
		400: true, 404: true, 405: true, 409: true, 413: true, 503: true}

	f.Fuzz(func(t *testing.T, method, path, query, ctxHdr string, body []byte) {
		switch method {
		case "GET", "PUT", "DELETE", "POST", "HEAD", "PATCH":
		default:
			method = "GET"
		}
		u := &url.URL{Path: "/" + strings.TrimLeft(path, "/"), RawQuery: query}
		req, err := http.NewRequest(method, "http://node"+u.EscapedPath()+"?"+url.PathEscape(query), bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		if ctxHdr != "" && !strings.ContainsAny(ctxHdr, "\r\n\x00") {
			req.Header.Set("X-Chorus-Context", ctxHdr)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("%s %s: status %d, body %q", method, req.URL, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && method != "HEAD" {
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s: status %d with body %q, want a JSON error", method, req.URL, rec.Code, rec.Body.String())
			}
			if len(e.Error) > maxErrorLen+100 {
				t.Fatalf("%s %s: error of %d bytes", method, req.URL, len(e.Error))
			}
		}
	})
}
