package server

import "net/http"

// BackupHTTPHandler returns the node's HTTP API with the backup and
// restore routes, as its listener serves them (in-memory nodes have no
// listener).
func (n *Node) BackupHTTPHandler() http.Handler {
	return newHTTPHandler(n.kv, n.status, n.metrics, httpConfig{Readiness: n.Readiness, Backup: n.backup})
}
