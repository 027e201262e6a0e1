package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chorusdb/chorus/transport"
)

// Hooks for the tests of package server_test, which drive whole clusters
// through server/localcluster and server/memcluster (an internal test
// cannot import them: they import server).

// SetHandoffRate changes the keys per second the node pulls in handoff.
func (n *Node) SetHandoffRate(keysPerSecond int) { n.handoff.SetKeysPerSecond(keysPerSecond) }

// DropHandedOff drops the node's handed-off partitions now, as its
// cleanup loop does every handoff.LeftoverEvery.
func (n *Node) DropHandedOff(ctx context.Context, settle time.Duration) { n.dropHandedOff(ctx, settle) }

// PeerStats returns the node's internode client figures.
func (n *Node) PeerStats() transport.Stats { return n.peers.Stats() }

// HTTPHandler returns the node's HTTP API handler, as its listener serves
// it (in-memory nodes have no listener).
func (n *Node) HTTPHandler() http.Handler {
	return newHTTPHandler(n.kv, n.status, n.metrics, httpConfig{Readiness: n.Readiness})
}

// DoHTTP serves one request to h and returns the recorded answer.
func DoHTTP(t *testing.T, h http.Handler, method, target string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	return doWith(t, h, method, target, body, hdr)
}

// ErrorOf decodes a JSON error answer, failing the test when it is not one.
func ErrorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	return errorOf(t, rec)
}
