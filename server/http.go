package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// kvBackend is the node's client API, the same one the gRPC KV service
// serves; errors are grpc status errors.
type kvBackend interface {
	Get(context.Context, *pb.GetRequest) (*pb.GetResponse, error)
	Put(context.Context, *pb.PutRequest) (*pb.PutResponse, error)
	Delete(context.Context, *pb.DeleteRequest) (*pb.DeleteResponse, error)
	ClusterInfo(context.Context, *pb.ClusterInfoRequest) (*pb.ClusterInfoResponse, error)
}

// httpConfig configures the HTTP API.
type httpConfig struct {
	// MaxBodyBytes bounds a PUT body, the value; larger bodies are
	// refused with 413. Default 8 MiB.
	MaxBodyBytes int64
	// Logger receives internal errors (500 answers). Default slog.Default().
	Logger *slog.Logger
	// Admin serves the membership changes (leave, remove); nil: not
	// served.
	Admin adminBackend
	// Faults serves GET and POST /v1/faults (fault injection); nil: not
	// served.
	Faults http.HandlerFunc
	// Replica reads the node's own copy of a key for GET
	// /v1/replica/{key}; nil: not served.
	Replica func(ctx context.Context, key []byte) (ReplicaCopy, error)
	// Plans serves the staged membership changes (membership_plan.go);
	// nil: not served.
	Plans *planner
	// Views are extra read-only JSON routes (GET path -> what to answer),
	// such as the anti-entropy pairs.
	Views map[string]func(ctx context.Context) any
	// Ready reports whether the node may serve the routes that need the
	// ring (KV, cluster views, membership changes); before, they answer
	// 503 with a Retry-After (see ready.go). Nil: always ready.
	Ready func() bool
	// Readiness answers /readyz (health.go). Nil: always ready.
	Readiness func() Readiness
	// Auth checks every request's credentials before routing it (see
	// auth_http.go); nil serves everyone.
	Auth *AuthConfig
	// UI serves the dashboard (/ui/, /v1/ui/*, ui.go); nil: not served.
	UI *uiRoutes
	// Backup serves the backup and restore routes (backup_http.go); nil:
	// not served.
	Backup *backupService
}

const defaultMaxBodyBytes = 8 << 20

// HTTP headers of the KV API.
const (
	headerContext  = "X-Chorus-Context"
	headerQuorum   = "X-Chorus-Quorum"
	headerReplicas = "X-Chorus-Replicas"
	// The N, R (reads) and W (writes) a request ran with: those it asked
	// for, or the node's defaults fitted to the ring's size.
	headerN = "X-Chorus-N"
	headerR = "X-Chorus-R"
	headerW = "X-Chorus-W"
)

// httpAPI serves the HTTP API on top of a kvBackend.
type httpAPI struct {
	kv      kvBackend
	status  func(ctx context.Context) any
	m       *metrics
	maxBody int64
	log     *slog.Logger
	// uiPeer passes a dashboard request a peer vouched for (ui_peer.go).
	uiPeer func(r *http.Request, pattern string) bool
}

// newHTTPHandler returns the node's HTTP API: the KV routes, the cluster
// views, status, metrics and pprof, on a mux of its own. status may be nil,
// and then /v1/status is not served; m may be nil, and then requests are
// not counted and /metrics serves an empty registry's Go and process
// metrics only.
func newHTTPHandler(kv kvBackend, status func(ctx context.Context) any, m *metrics, cfg httpConfig) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if m == nil {
		m = newMetrics(metricsSources{})
	}
	a := &httpAPI{kv: kv, status: status, m: m, maxBody: cfg.MaxBodyBytes, log: cfg.Logger}
	mux := http.NewServeMux()
	handle := func(pattern, route string, h http.HandlerFunc) {
		mux.Handle(pattern, a.counted(route, h))
	}
	ringed := func(h http.HandlerFunc) http.HandlerFunc { return whenReady(cfg.Ready, h) }
	// A pattern with a method is more specific than the same pattern
	// without one, so each method-less pattern below only catches the
	// methods the API does not serve, and answers 405 in JSON.
	handle("GET /v1/kv/{key...}", "kv_get", ringed(a.get))
	handle("PUT /v1/kv/{key...}", "kv_put", ringed(a.put))
	handle("DELETE /v1/kv/{key...}", "kv_delete", ringed(a.delete))
	handle("/v1/kv/{key...}", "kv", methodNotAllowed("GET, HEAD, PUT, DELETE"))
	// "/v1/kv" is the empty key too, rather than the mux's redirect to
	// "/v1/kv/".
	handle("GET /v1/kv", "kv_get", ringed(a.get))
	handle("PUT /v1/kv", "kv_put", ringed(a.put))
	handle("DELETE /v1/kv", "kv_delete", ringed(a.delete))
	handle("/v1/kv", "kv", methodNotAllowed("GET, HEAD, PUT, DELETE"))
	handle("GET /v1/cluster/members", "cluster_members", ringed(a.members))
	handle("/v1/cluster/members", "cluster_members", methodNotAllowed("GET, HEAD"))
	handle("GET /v1/cluster/ring", "cluster_ring", ringed(a.ring))
	handle("/v1/cluster/ring", "cluster_ring", methodNotAllowed("GET, HEAD"))
	if status != nil {
		handle("GET /v1/status", "status", a.statusView)
		handle("/v1/status", "status", methodNotAllowed("GET, HEAD"))
	}
	if cfg.Admin != nil {
		handle("POST /v1/cluster/leave", "cluster_leave", ringed(a.leave(cfg.Admin)))
		handle("GET /v1/cluster/leave", "cluster_leave", a.leaveStatus(cfg.Admin))
		handle("/v1/cluster/leave", "cluster_leave", methodNotAllowed("GET, HEAD, POST"))
		handle("POST /v1/cluster/remove/{node}", "cluster_remove", ringed(a.remove(cfg.Admin)))
		handle("/v1/cluster/remove/{node}", "cluster_remove", methodNotAllowed("POST"))
	}
	if cfg.Replica != nil {
		handle("GET /v1/replica/{key...}", "replica", ringed(replicaView(cfg.Replica)))
		handle("/v1/replica/{key...}", "replica", methodNotAllowed("GET, HEAD"))
	}
	if cfg.Faults != nil {
		handle("GET /v1/faults", "faults", cfg.Faults)
		handle("POST /v1/faults", "faults", cfg.Faults)
		handle("/v1/faults", "faults", methodNotAllowed("GET, HEAD, POST"))
	}
	if cfg.Plans != nil {
		registerPlanRoutes(handle, ringed, planHTTP{cfg.Plans})
	}
	if b := cfg.Backup; b != nil {
		handle("GET /v1/admin/backup/partitions/{p}", "backup_partition", ringed(b.servePartition))
		handle("/v1/admin/backup/partitions/{p}", "backup_partition", methodNotAllowed("GET, HEAD"))
		handle("POST /v1/admin/restore", "restore", ringed(b.serveRestore))
		handle("/v1/admin/restore", "restore", methodNotAllowed("POST"))
	}
	for path, view := range cfg.Views {
		handle("GET "+path, path, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, view(r.Context()))
		})
		handle(path, path, methodNotAllowed("GET, HEAD"))
	}
	if cfg.UI != nil {
		cfg.UI.register(handle)
		a.uiPeer = cfg.UI.peer
	}
	// Always open, and served while the node starts (health.go).
	handle("GET /healthz", "healthz", healthz)
	handle("/healthz", "healthz", methodNotAllowed("GET, HEAD"))
	handle("GET /readyz", "readyz", readyz(cfg.Readiness))
	handle("/readyz", "readyz", methodNotAllowed("GET, HEAD"))
	mux.Handle("GET /metrics", a.counted("metrics", m.handler().ServeHTTP))
	handle("/metrics", "metrics", methodNotAllowed("GET, HEAD"))
	// net/http/pprof's init also registers on http.DefaultServeMux, which
	// nothing of ours serves; these are the routes that matter.
	handle("/debug/pprof/", "pprof", pprof.Index)
	handle("/debug/pprof", "pprof", pprof.Index)
	handle("/debug/pprof/cmdline", "pprof", pprof.Cmdline)
	handle("/debug/pprof/profile", "pprof", pprof.Profile)
	handle("/debug/pprof/symbol", "pprof", pprof.Symbol)
	handle("/debug/pprof/trace", "pprof", pprof.Trace)
	handle("/", "other", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route for "+quoteInput(r.URL.Path))
	})
	if cfg.Auth != nil {
		return a.authorized(cfg.Auth, mux, a.routedOnly(mux))
	}
	return a.routedOnly(mux)
}

// newHTTPServer returns the server of the HTTP API: h behind cfg's
// timeouts, with the HTTP layer's own errors (a handler's panic, say)
// logged to log as warnings.
func newHTTPServer(h http.Handler, cfg HTTPConfig, log *slog.Logger) *http.Server {
	cfg = cfg.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// counted counts each answer of h under route in chorus_http_requests_total.
// Every route is registered through it, which is how routedOnly knows that
// one of ours took a request.
func (a *httpAPI) counted(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g, ok := w.(*routeGuard); ok {
			g.routed = true
			w = g.w
		}
		rec := &statusRecorder{ResponseWriter: w}
		h(rec, r)
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		a.m.countHTTP(route, code)
	})
}

// statusRecorder remembers the status code written through it.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer
// (pprof's profile and trace extend the write deadline through it).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes flushes through; promhttp and pprof may flush.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// backendError answers err from the backend.
func (a *httpAPI) backendError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := httpStatus(err)
	if code == http.StatusInternalServerError {
		a.log.Error("http: backend error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, code, msg)
}

// kvKey returns the key of a KV request, or answers 400 and false.
func kvKey(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	k := r.PathValue("key")
	if k == "" {
		writeError(w, http.StatusBadRequest, "empty key")
		return nil, false
	}
	return []byte(k), true
}

// quorumParams parses the raw query of a KV request into a Quorum.
// Whatever does not parse is refused, never skipped: a pair with a bad
// percent-escape or a semicolon (both of which URL.Query drops without a
// word), an unknown name, a name given twice, a value the name does not
// take. A mistyped "W=3" or "w=3%" silently ignored would weaken a write
// without telling anyone.
func quorumParams(r *http.Request) (*pb.Quorum, error) {
	type param struct{ name, value string }
	var params []param
	count := map[string]int{}
	for _, pair := range strings.Split(r.URL.RawQuery, "&") {
		if pair == "" {
			continue
		}
		if strings.Contains(pair, ";") {
			return nil, fmt.Errorf("query parameter %s: a semicolon is not a separator; use &", quoteInput(pair))
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return nil, fmt.Errorf("query parameter %s: bad percent-escape", quoteInput(rawName))
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("bad %s %s: bad percent-escape", quoteInput(name), quoteInput(rawValue))
		}
		params = append(params, param{name, value})
		count[name]++
	}
	q := &pb.Quorum{}
	for _, p := range params {
		if n := count[p.name]; n != 1 {
			return nil, fmt.Errorf("query parameter %s given %d times", quoteInput(p.name), n)
		}
		if err := setQuorumParam(q, p.name, p.value); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// setQuorumParam sets the field of q that query parameter name stands for.
func setQuorumParam(q *pb.Quorum, name, v string) error {
	var err error
	switch name {
	case "n":
		q.N, err = parseCount(name, v)
	case "r":
		q.R, err = parseCount(name, v)
	case "w":
		q.W, err = parseCount(name, v)
	case "pr":
		q.Pr, err = parseCount(name, v)
	case "pw":
		q.Pw, err = parseCount(name, v)
	case "timeout":
		q.TimeoutMs, err = parseTimeout(v)
	case "read_repair":
		if _, perr := replica.ParseReadRepair(v); perr != nil || v == "" {
			err = fmt.Errorf("bad read_repair %s: want digest or all", quoteInput(v))
		}
		q.ReadRepair = v
	case "durable":
		var b bool
		b, err = strconv.ParseBool(v)
		if err != nil {
			err = fmt.Errorf("bad durable %s: want true or false", quoteInput(v))
		}
		q.NotDurable = !b
	default:
		err = fmt.Errorf("unknown query parameter %s (known: n, r, w, pr, pw, timeout, durable, read_repair)", quoteInput(name))
	}
	return err
}

func parseCount(name, v string) (uint32, error) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad %s %s: want a non-negative integer", name, quoteInput(v))
	}
	return uint32(n), nil
}

// parseTimeout reads a Go duration ("500ms", "2s") or plain milliseconds.
// A positive duration under a millisecond rounds up to 1 ms, since 0
// would mean the server's default.
func parseTimeout(v string) (uint32, error) {
	if ms, err := strconv.ParseUint(v, 10, 32); err == nil {
		return uint32(ms), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad timeout %s: want a duration such as 500ms or 2s, or milliseconds", quoteInput(v))
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxUint32 {
		return 0, fmt.Errorf("bad timeout %s: too long", quoteInput(v))
	}
	return uint32(ms), nil
}

// setQuorumHeaders says how the request was served.
func setQuorumHeaders(w http.ResponseWriter, info *pb.QuorumInfo) {
	q := "strict"
	if info.GetSloppy() {
		q = "sloppy"
	}
	w.Header().Set(headerQuorum, q)
	w.Header().Set(headerReplicas, strings.Join(info.GetReplicas(), ","))
	for _, c := range []struct {
		header string
		v      uint32
	}{{headerN, info.GetN()}, {headerR, info.GetR()}, {headerW, info.GetW()}} {
		if c.v != 0 {
			w.Header().Set(c.header, strconv.FormatUint(uint64(c.v), 10))
		}
	}
}

// siblingsBody is the JSON answer of a read with several siblings, or of
// any read that asked for JSON. Values are standard base64.
type siblingsBody struct {
	Context  string   `json:"context"`
	Siblings []string `json:"siblings"`
}

func (a *httpAPI) get(w http.ResponseWriter, r *http.Request) {
	key, ok := kvKey(w, r)
	if !ok {
		return
	}
	q, err := quorumParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, err := a.kv.Get(r.Context(), &pb.GetRequest{Key: key, Quorum: q})
	if err != nil {
		a.backendError(w, r, err)
		return
	}
	setQuorumHeaders(w, resp.GetInfo())
	if resp.GetContext() != "" {
		w.Header().Set(headerContext, resp.GetContext())
	}
	var live [][]byte
	for _, s := range resp.GetSiblings() {
		if !s.GetTombstone() {
			live = append(live, s.GetValue())
		}
	}
	if !resp.GetFound() || len(live) == 0 {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	if len(live) == 1 && !wantsJSON(r) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(live[0])))
		w.WriteHeader(http.StatusOK)
		w.Write(live[0])
		return
	}
	body := siblingsBody{Context: resp.GetContext(), Siblings: make([]string, len(live))}
	for i, v := range live {
		body.Siblings[i] = base64.StdEncoding.EncodeToString(v)
	}
	code := http.StatusOK
	if len(live) > 1 {
		code = http.StatusMultipleChoices
	}
	writeJSON(w, code, body)
}

// wantsJSON reports whether the Accept header names application/json.
func wantsJSON(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept") {
		for _, part := range strings.Split(h, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err == nil && mt == "application/json" {
				return true
			}
		}
	}
	return false
}

func (a *httpAPI) put(w http.ResponseWriter, r *http.Request) {
	key, ok := kvKey(w, r)
	if !ok {
		return
	}
	q, err := quorumParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if r.ContentLength > a.maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, a.tooLarge())
		return
	}
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, a.tooLarge())
			return
		}
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			writeError(w, http.StatusRequestTimeout, "the request body did not arrive within the server's read timeout")
			return
		}
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	ctxText, err := contextHeader(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, err := a.kv.Put(r.Context(), &pb.PutRequest{
		Key: key, Value: value, Context: ctxText, Quorum: q,
	})
	if err != nil {
		a.backendError(w, r, err)
		return
	}
	setQuorumHeaders(w, resp.GetInfo())
	w.Header().Set(headerContext, resp.GetContext())
	w.WriteHeader(http.StatusNoContent)
}

// contextHeader returns the write's context header, refusing one given
// twice (which of them would count?) or one longer than any context the
// backend accepts. The context stays opaque here: the backend parses it.
func contextHeader(r *http.Request) (string, error) {
	vals := r.Header.Values(headerContext)
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1:
		return "", fmt.Errorf("header %s given %d times", headerContext, len(vals))
	case len(vals[0]) > vclock.MaxContextLen:
		return "", fmt.Errorf("header %s is %d bytes, longer than any context (limit %d)", headerContext, len(vals[0]), vclock.MaxContextLen)
	}
	return vals[0], nil
}

func (a *httpAPI) tooLarge() string {
	return fmt.Sprintf("value larger than %d bytes", a.maxBody)
}

func (a *httpAPI) delete(w http.ResponseWriter, r *http.Request) {
	key, ok := kvKey(w, r)
	if !ok {
		return
	}
	q, err := quorumParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctxText, err := contextHeader(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, err := a.kv.Delete(r.Context(), &pb.DeleteRequest{
		Key: key, Context: ctxText, Quorum: q,
	})
	if err != nil {
		a.backendError(w, r, err)
		return
	}
	setQuorumHeaders(w, resp.GetInfo())
	w.Header().Set(headerContext, resp.GetContext())
	w.WriteHeader(http.StatusNoContent)
}

// memberView is one member in /v1/cluster/members. It spells every field
// out, where the protobuf type's JSON tags would omit zero values.
type memberView struct {
	ID       string  `json:"id"`
	Zone     string  `json:"zone"`
	Weight   float64 `json:"weight"`
	GRPCAddr string  `json:"grpc_addr"`
	HTTPAddr string  `json:"http_addr"`
	Status   string  `json:"status"`
	Alive    bool    `json:"alive"`
}

func (a *httpAPI) members(w http.ResponseWriter, r *http.Request) {
	info, err := a.kv.ClusterInfo(r.Context(), &pb.ClusterInfoRequest{})
	if err != nil {
		a.backendError(w, r, err)
		return
	}
	out := make([]memberView, 0, len(info.GetMembers()))
	for _, m := range info.GetMembers() {
		out = append(out, memberView{
			ID: m.GetId(), Zone: m.GetZone(), Weight: m.GetWeight(),
			GRPCAddr: m.GetGrpcAddr(), HTTPAddr: m.GetHttpAddr(),
			Status: m.GetStatus(), Alive: m.GetAlive(),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// ringView is /v1/cluster/ring. Load counts, for each node, the partitions
// it is a primary replica of; Owners lists each partition's primaries,
// best first.
type ringView struct {
	Partitions  uint32         `json:"partitions"`
	Replicas    uint32         `json:"replicas"`
	RingVersion uint64         `json:"ring_version"`
	RingSize    uint32         `json:"ring_size"`
	Load        map[string]int `json:"load"`
	Owners      [][]string     `json:"owners"`
}

func (a *httpAPI) ring(w http.ResponseWriter, r *http.Request) {
	info, err := a.kv.ClusterInfo(r.Context(), &pb.ClusterInfoRequest{})
	if err != nil {
		a.backendError(w, r, err)
		return
	}
	v, err := newRingView(info)
	if err != nil {
		a.log.Error("http: bad cluster info", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// newRingView decodes the flat routing table of info: partitions × per
// entries, per = min(replicas, ring_size), each an index into members.
func newRingView(info *pb.ClusterInfoResponse) (*ringView, error) {
	parts := int(info.GetPartitions())
	per := int(min(info.GetReplicas(), info.GetRingSize()))
	owners := info.GetOwners()
	if len(owners) != parts*per {
		return nil, fmt.Errorf("routing table has %d entries, want %d partitions × %d", len(owners), parts, per)
	}
	v := &ringView{
		Partitions: info.GetPartitions(), Replicas: info.GetReplicas(),
		RingVersion: info.GetRingVersion(), RingSize: info.GetRingSize(),
		Load: make(map[string]int), Owners: make([][]string, parts),
	}
	members := info.GetMembers()
	for p := range parts {
		ids := make([]string, per)
		for i, idx := range owners[p*per : (p+1)*per] {
			if int(idx) >= len(members) {
				return nil, fmt.Errorf("routing table: partition %d names member %d of %d", p, idx, len(members))
			}
			ids[i] = members[idx].GetId()
			v.Load[ids[i]]++
		}
		v.Owners[p] = ids
	}
	return v, nil
}

func (a *httpAPI) statusView(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.status(r.Context()))
}

// routedOnly serves mux so that only the API's own routes answer. The
// mux answers by itself, in plain text, a path it would clean ("a//b",
// "a/../b") or complete with a slash, with a redirect; for a key, the
// redirect names another key. Those answers become JSON errors: 400 for a
// key path, 404 for any other.
func (a *httpAPI) routedOnly(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := &routeGuard{w: w, r: r, a: a}
		mux.ServeHTTP(g, r)
		if !g.routed {
			g.answer()
		}
	})
}

// routeGuard is the writer routedOnly hands the mux. A route of ours
// unwraps it (see counted); anything else written through it is replaced
// by one JSON error.
type routeGuard struct {
	w        http.ResponseWriter
	r        *http.Request
	a        *httpAPI
	routed   bool
	answered bool
	dropped  http.Header // what the mux's own handler set (a Location)
}

func (g *routeGuard) Header() http.Header {
	if g.dropped == nil {
		g.dropped = http.Header{}
	}
	return g.dropped
}

func (g *routeGuard) WriteHeader(int) { g.answer() }

func (g *routeGuard) Write(b []byte) (int, error) {
	g.answer()
	return len(b), nil
}

func (g *routeGuard) answer() {
	if g.answered {
		return
	}
	g.answered = true
	code, msg := http.StatusNotFound, "no route for "+quoteInput(g.r.URL.Path)
	if strings.HasPrefix(g.r.URL.Path, "/v1/kv/") {
		code = http.StatusBadRequest
		msg = "key path " + quoteInput(g.r.URL.EscapedPath()) + " has an empty, . or .. segment, which HTTP paths do not keep: " +
			"escape the key's slashes as %2F"
	}
	writeError(g.w, code, msg)
	g.a.m.countHTTP("other", code)
}
