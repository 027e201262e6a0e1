package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/chorusdb/chorus/storage"
)

// Health endpoints, for load balancers and orchestrators (a Kubernetes
// liveness and readiness probe). Both are always open: they need no
// credentials and say nothing a client could abuse, and a probe has none.
//
//   - GET /healthz answers 200 {"status":"ok"} whenever the process
//     serves HTTP: the liveness question, "should this process be
//     restarted?". It checks nothing else on purpose, since a node that is
//     joining, or whose handoff stalled, is not helped by a restart.
//   - GET /readyz answers 200 when the node should be sent client traffic
//     and 503 otherwise, with every check and, for a failing one, why.

// ReadyCheck is one condition of readiness.
type ReadyCheck struct {
	// Name is "ring", "storage", "handoff" or "leaving".
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Why says, for a failing check, what is wrong.
	Why string `json:"why,omitempty"`
}

// Readiness is the body of /readyz.
type Readiness struct {
	// Status is "ready" or "not ready".
	Status string       `json:"status"`
	Node   string       `json:"node"`
	Checks []ReadyCheck `json:"checks"`
}

// Ready reports whether every check passed.
func (r Readiness) Ready() bool { return r.Status == "ready" }

// newReadiness returns the readiness of checks: ready when all pass.
func newReadiness(node string, checks []ReadyCheck) Readiness {
	r := Readiness{Status: "ready", Node: node, Checks: checks}
	for _, c := range checks {
		if !c.OK {
			r.Status = "not ready"
		}
	}
	return r
}

// healthProbe is a meta name that is never written: reading it goes
// through the storage engine and answers ErrNotFound while it works.
const healthProbe = "readyz-probe"

// Readiness checks whether the node should take client traffic:
//
//   - ring: it has joined (or bootstrapped) and routes by a ring built
//     from what it learned, as the client routes need (ready.go);
//   - storage: its storage engine answers a read;
//   - handoff: no partition it is gaining is stalled (a transfer whose
//     source stopped sending, see handoff); waiting or running transfers
//     are normal after a ring change and do not count;
//   - leaving: it is not handing its data off to leave the cluster.
func (n *Node) Readiness() Readiness {
	var checks []ReadyCheck
	ring := ReadyCheck{Name: "ring", OK: true}
	switch {
	case !n.ready.Load():
		ring.OK, ring.Why = false, "starting: the node has not joined the cluster and built its ring yet"
	case n.coord.Ring() == nil || n.coord.Ring().Size() == 0:
		ring.OK, ring.Why = false, "no ring: no member is placed"
	}
	checks = append(checks, ring)

	st := ReadyCheck{Name: "storage", OK: true}
	if _, err := n.db.GetMeta(healthProbe); err != nil && !errors.Is(err, storage.ErrNotFound) {
		st.OK, st.Why = false, err.Error()
	}
	checks = append(checks, st)

	ho := ReadyCheck{Name: "handoff", OK: true}
	if s := n.handoff.Status(); s.Stalled > 0 {
		var stalled []string
		for _, t := range s.Transfers {
			if t.State == "stalled" && len(stalled) < 5 {
				stalled = append(stalled, fmt.Sprintf("%d from %s: %s", t.Partition, t.Source, t.Error))
			}
		}
		ho.OK = false
		ho.Why = fmt.Sprintf("%d partition(s) this node gains are stalled in handoff (%s); see /v1/transfers",
			s.Stalled, strings.Join(stalled, "; "))
	}
	checks = append(checks, ho)

	lv := ReadyCheck{Name: "leaving", OK: !n.leaving.Load()}
	if !lv.OK {
		lv.Why = "leaving the cluster: handing its data off"
	}
	checks = append(checks, lv)
	return newReadiness(n.ID(), checks)
}

// healthz answers 200 while the process serves HTTP.
func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers readiness(): 200 when ready, 503 otherwise. A nil
// readiness (a handler without a node) is always ready.
func readyz(readiness func() Readiness) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if readiness == nil {
			writeJSON(w, http.StatusOK, newReadiness("", nil))
			return
		}
		r := readiness()
		code := http.StatusOK
		if !r.Ready() {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, r)
	}
}
