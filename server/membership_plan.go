package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/vclock"
)

// Staged membership changes, as riak-admin cluster plan and commit: a plan
// says what a set of changes would move before anything changes, is kept
// on the node that made it (in its meta keyspace, so a restart keeps it)
// with the ring version it was computed against, and is committed only
// while the ring is still that one.

// metaPlan holds the staged plan; an empty value means none.
const metaPlan = "server.plan"

// maxPlanBody bounds a plan request: the changes and every node's
// per-partition sizes (a few dozen bytes per partition and node).
const maxPlanBody = 16 << 20

// Errors of the plan routes.
var (
	// ErrNoPlan: nothing is staged.
	ErrNoPlan = errors.New("server: no plan staged (make one with: chorus cluster plan)")
	// ErrStalePlan: the ring changed since the plan was made.
	ErrStalePlan = errors.New("server: the plan is stale")
)

// PlanRequest asks for a plan: the changes, and the per-partition sizes
// of every node's copies that the caller gathered (GET /v1/partitions).
type PlanRequest struct {
	Changes []ring.Change                   `json:"changes"`
	Sizes   map[string]map[uint32]ring.Size `json:"sizes"`
}

// Plan is a staged plan.
type Plan struct {
	Changes []ring.Change `json:"changes"`
	// RingVersion is the ring version (GET /v1/status) it was made
	// against; Stale is set when the ring has changed since.
	RingVersion uint64    `json:"ring_version"`
	Stale       bool      `json:"stale"`
	MadeBy      string    `json:"made_by"`
	MadeAt      time.Time `json:"made_at"`
	ring.MovePlan
}

// maxPlanChanges bounds the changes of one plan.
const maxPlanChanges = 64

// decodePlanRequest decodes a plan request body and checks its shape; the
// changes themselves are ring.ApplyChanges' to refuse.
func decodePlanRequest(b []byte) (PlanRequest, error) {
	var req PlanRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return PlanRequest{}, fmt.Errorf("bad plan request: %w", err)
	}
	if len(req.Changes) > maxPlanChanges {
		return PlanRequest{}, fmt.Errorf("bad plan request: %d changes, at most %d", len(req.Changes), maxPlanChanges)
	}
	return req, nil
}

// decodeSavedPlan decodes the staged plan as saved in the meta keyspace.
func decodeSavedPlan(b []byte) (Plan, error) {
	var plan Plan
	if err := json.Unmarshal(b, &plan); err != nil {
		return Plan{}, fmt.Errorf("server: saved plan unreadable: %w", err)
	}
	return plan, nil
}

// planner stages plans for a node.
type planner struct {
	mu sync.Mutex // serialises plan, commit and clear
	n  *Node
}

// makePlan computes the plan of req against the current ring and stages
// it, replacing any staged plan.
func (pl *planner) makePlan(ctx context.Context, req PlanRequest) (Plan, error) {
	n := pl.n
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if len(req.Changes) == 0 {
		return Plan{}, fmt.Errorf("%w: a plan needs at least one change", ring.ErrBadChange)
	}
	version := n.members.RingHash()
	history := ringMembers(n.members.Records())
	prev, err := ring.New(history, n.cfg.Ring)
	if err != nil {
		return Plan{}, fmt.Errorf("server: plan: %w", err)
	}
	after, err := ring.ApplyChanges(history, req.Changes)
	if err != nil {
		return Plan{}, err
	}
	next, err := ring.New(after, n.cfg.Ring)
	if err != nil {
		return Plan{}, fmt.Errorf("%w: %w", ring.ErrBadChange, err)
	}
	size := func(node string, p uint32) (ring.Size, bool) {
		s, ok := req.Sizes[node][p]
		return s, ok
	}
	plan := Plan{Changes: req.Changes, RingVersion: version, MadeBy: n.ID(), MadeAt: time.Now().UTC(),
		MovePlan: ring.PlanMoves(prev, next, size)}
	b, _ := json.Marshal(plan) // plain data: cannot fail
	if err := n.db.SetMeta(ctx, metaPlan, b); err != nil {
		return Plan{}, fmt.Errorf("server: save plan: %w", err)
	}
	return plan, nil
}

// staged returns the staged plan, marked stale if the ring moved on.
func (pl *planner) staged() (Plan, error) {
	b, err := pl.n.db.GetMeta(metaPlan)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && len(b) == 0) {
		return Plan{}, ErrNoPlan
	}
	if err != nil {
		return Plan{}, fmt.Errorf("server: read plan: %w", err)
	}
	plan, err := decodeSavedPlan(b)
	if err != nil {
		return Plan{}, err
	}
	plan.Stale = plan.RingVersion != pl.n.members.RingHash()
	return plan, nil
}

// commit takes the staged plan for the caller to apply, refusing a stale
// one (kept, so that it can be shown; clear or re-plan it). The plan is
// dropped once taken: its changes are the caller's to make.
func (pl *planner) commit(ctx context.Context) (Plan, error) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	plan, err := pl.staged()
	if err != nil {
		return Plan{}, err
	}
	if plan.Stale {
		return plan, fmt.Errorf("%w: it was made against ring version %d, and the ring is at version %d now (another membership change happened); make a new plan",
			ErrStalePlan, plan.RingVersion, pl.n.members.RingHash())
	}
	if err := pl.n.db.SetMeta(ctx, metaPlan, []byte{}); err != nil {
		return Plan{}, fmt.Errorf("server: drop committed plan: %w", err)
	}
	return plan, nil
}

// clear drops the staged plan; it reports whether there was one.
func (pl *planner) clear(ctx context.Context) (bool, error) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	_, err := pl.staged()
	if errors.Is(err, ErrNoPlan) {
		return false, nil
	}
	if err := pl.n.db.SetMeta(ctx, metaPlan, []byte{}); err != nil {
		return false, fmt.Errorf("server: clear plan: %w", err)
	}
	return true, nil
}

// PartitionSizes counts, per partition, the keys this node holds and
// their encoded bytes (keys and sets); partitions it holds nothing of are
// left out. It reads every key: a plan is an operator's action, not a
// request path.
func (n *Node) PartitionSizes(ctx context.Context) (map[uint32]ring.Size, error) {
	out := map[uint32]ring.Size{}
	r := n.coord.Ring()
	if r == nil {
		return out, nil
	}
	for p := range uint32(r.Partitions()) {
		var s ring.Size
		err := n.db.ScanPartition(ctx, p, func(key []byte, set vclock.Set) error {
			s.Keys++
			s.Bytes += uint64(len(key) + len(set.Encode()))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("server: size of partition %d: %w", p, err)
		}
		if s.Keys > 0 {
			out[p] = s
		}
	}
	return out, nil
}

// planHTTP serves the plan routes.
type planHTTP struct {
	pl *planner
}

func (h planHTTP) sizes(w http.ResponseWriter, r *http.Request) {
	sizes, err := h.pl.n.PartitionSizes(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"node": h.pl.n.ID(), "partitions": sizes})
}

func (h planHTTP) plan(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPlanBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("plan request over %d bytes", maxPlanBody))
		return
	}
	req, err := decodePlanRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	plan, err := h.pl.makePlan(r.Context(), req)
	switch {
	case errors.Is(err, ring.ErrBadChange):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, plan)
	}
}

func (h planHTTP) show(w http.ResponseWriter, r *http.Request) {
	plan, err := h.pl.staged()
	h.answer(w, plan, err)
}

func (h planHTTP) commit(w http.ResponseWriter, r *http.Request) {
	plan, err := h.pl.commit(r.Context())
	h.answer(w, plan, err)
}

func (h planHTTP) clear(w http.ResponseWriter, r *http.Request) {
	had, err := h.pl.clear(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cleared": had})
}

func (h planHTTP) answer(w http.ResponseWriter, plan Plan, err error) {
	switch {
	case errors.Is(err, ErrNoPlan):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrStalePlan):
		writeError(w, http.StatusConflict, err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, plan)
	}
}

// registerPlanRoutes adds the plan routes through handle.
func registerPlanRoutes(handle func(pattern, route string, h http.HandlerFunc), ringed func(http.HandlerFunc) http.HandlerFunc, h planHTTP) {
	handle("GET /v1/partitions", "partitions", ringed(h.sizes))
	handle("/v1/partitions", "partitions", methodNotAllowed("GET, HEAD"))
	handle("GET /v1/cluster/plan", "cluster_plan", ringed(h.show))
	handle("POST /v1/cluster/plan", "cluster_plan", ringed(h.plan))
	handle("DELETE /v1/cluster/plan", "cluster_plan", ringed(h.clear))
	handle("/v1/cluster/plan", "cluster_plan", methodNotAllowed("GET, HEAD, POST, DELETE"))
	handle("POST /v1/cluster/commit", "cluster_commit", ringed(h.commit))
	handle("/v1/cluster/commit", "cluster_commit", methodNotAllowed("POST"))
}
