package runner

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorusdb/chorus/bench/procs"
	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/nemesis"
	"github.com/chorusdb/chorus/nemesis/inject"
	"github.com/chorusdb/chorus/nemesis/netfault"
)

// Result is what a run produced.
type Result struct {
	Report *nemesis.Report
	// Events is the fault timeline as it was carried out.
	Events []inject.Event
	// HistoryPath, ReportPath, TextPath and TimelinePath (operations per
	// second with the faults shaded, PNG) are the files written in Dir.
	HistoryPath, ReportPath, TextPath, TimelinePath string
	// ConvergencePath is each probed heal's convergence (a run of
	// cycles), "" when there was none.
	ConvergencePath string
	// Notes are things the run could not do as asked (faults dropped).
	Notes []string
}

// run is one run's state.
type run struct {
	cfg     Config
	cluster cluster
	net     inject.Net // nil: no partitions
	web     *http.Client
	enc     *nemesis.Encoder
	start   time.Time // the history's zero
	seq     atomic.Int64
	mu      sync.Mutex
	ops     []nemesis.Op
	// healConv holds the probe after each heal in cycles mode, by the
	// event's index.
	healConv map[int]*nemesis.HealConvergence
	logMu    sync.Mutex
}

func (r *run) logf(format string, a ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.cfg.Log, "nemesis: "+format+"\n", a...)
}

// since is the time since the run's start, in the history's units.
func (r *run) since() int64 { return int64(time.Since(r.start)) }

// hosts returns the addresses of the first n nodes, from FirstHost up.
func hosts(first string, n int) ([]string, error) {
	ip := net.ParseIP(first).To4()
	if ip == nil {
		return nil, fmt.Errorf("runner: FirstHost %q: want an IPv4 address", first)
	}
	out := make([]string, n)
	for i := range n {
		next := make(net.IP, 4)
		copy(next, ip)
		v := int(next[3]) + i
		if v > 254 {
			return nil, fmt.Errorf("runner: %d nodes from %s pass the end of the /24", n, first)
		}
		next[3] = byte(v)
		out[i] = next.String()
	}
	return out, nil
}

// Run runs one fault test (see the package documentation).
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	res = &Result{HistoryPath: filepath.Join(cfg.Dir, "history.jsonl"), ReportPath: filepath.Join(cfg.Dir, "report.json"),
		TextPath: filepath.Join(cfg.Dir, "report.txt")}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	r := &run{cfg: cfg, healConv: map[int]*nemesis.HealConvergence{}}
	fw, faults, note := r.openNet(ctx)
	if note != "" {
		res.Notes = append(res.Notes, note)
	}
	if fw != nil {
		defer fw.Close()
		r.net = fw
	}
	if err := r.startCluster(ctx); err != nil {
		return res, err
	}
	defer r.cluster.Close()

	hf, err := os.Create(res.HistoryPath)
	if err != nil {
		return res, fmt.Errorf("runner: %w", err)
	}
	defer hf.Close()
	r.enc = nemesis.NewEncoder(hf)
	var names []string
	for i := range cfg.Nodes {
		names = append(names, nodeName(i))
	}
	meta := nemesis.Meta{Seed: cfg.Seed, Nodes: names, Workloads: cfg.Workloads,
		Note: fmt.Sprintf("N=%d R=%d W=%d, %d clients per workload, faults %v, tombstone grace %v", cfg.N, cfg.R, cfg.W,
			cfg.ClientsPerWorkload, faults, cfg.TombstoneGrace)}
	if note != "" {
		meta.Note += "; " + note
	}
	if cfg.Compose != nil {
		meta.Note += "; " + r.composeNote()
	}
	if err := r.enc.Meta(meta); err != nil {
		return res, err
	}

	events, runErr := r.runPhase(ctx, faults)
	runErr = r.dropUnsupported(res, runErr)
	res.Events = events
	if runErr != nil {
		r.logf("%v", runErr)
	}
	healed := r.since()
	final := r.converge(ctx, healed)
	if err := r.enc.Final(final); err != nil {
		return res, err
	}
	h := &nemesis.History{Meta: meta, Ops: r.ops, Final: final}
	h.Faults = r.faults(events)
	slices.SortFunc(h.Ops, func(a, b nemesis.Op) int { return int(a.Seq - b.Seq) })
	rep, err := nemesis.Check(h, cfg.Check)
	if err != nil {
		return res, err
	}
	res.Report = rep
	if err := writeReport(res, rep); err != nil {
		return res, err
	}
	if res.TimelinePath, res.ConvergencePath, err = r.writeTimeline(h); err != nil {
		return res, err
	}
	return res, errors.Join(runErr, ctx.Err())
}

// openNet opens the firewall, or says why partitions are off.
func (r *run) openNet(ctx context.Context) (*netfault.Firewall, []inject.Kind, string) {
	faults := slices.Clone(r.cfg.Faults)
	// The compose cluster's network is docker's (nemesis/compose), not
	// the firewall's.
	if !slices.Contains(faults, inject.Partition) || r.cfg.Compose != nil {
		return nil, faults, ""
	}
	drop := func(why error) (*netfault.Firewall, []inject.Kind, string) {
		note := fmt.Sprintf("partitions skipped: %v", why)
		r.logf("%s", note)
		return nil, slices.DeleteFunc(faults, func(k inject.Kind) bool { return k == inject.Partition }), note
	}
	if err := netfault.Available(ctx); err != nil {
		return drop(err)
	}
	if removed, err := netfault.RemoveStale(ctx, nil); err != nil {
		return drop(err)
	} else if len(removed) > 0 {
		r.logf("removed firewall chains an earlier run left: %v", removed)
	}
	fw, err := netfault.Open(ctx, netfault.Config{})
	if err != nil {
		return drop(err)
	}
	return fw, faults, ""
}

// startCluster starts the nodes, each on its own address, with TLS and
// fault injection, and the clients' HTTPS client.
func (r *run) startCluster(ctx context.Context) error {
	if r.cfg.Compose != nil {
		return r.startCompose(ctx)
	}
	hs, err := hosts(r.cfg.FirstHost, maxNodes(r.cfg))
	if err != nil {
		return err
	}
	pc := procs.Config{Nodes: r.cfg.Nodes, Bin: r.cfg.Bin, Dir: filepath.Join(r.cfg.Dir, "cluster"), TLS: true, Hosts: hs,
		HTTPBase: r.cfg.PortBase, GRPCBase: r.cfg.PortBase + 1000, PeerBase: r.cfg.PortBase + 2000, GossipBase: r.cfg.PortBase + 3000,
		Extra: r.nodeArgs(), Log: r.cfg.Log}
	if err := os.RemoveAll(pc.Dir); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	r.logf("starting %d nodes on %s-%s", r.cfg.Nodes, hs[0], hs[r.cfg.Nodes-1])
	c, err := procs.Start(ctx, pc)
	if err != nil {
		return err
	}
	tc, err := certs.LoadClient(c.CertsDir(), "root")
	if err != nil {
		_ = c.Close()
		return fmt.Errorf("runner: %w", err)
	}
	r.cluster = c
	r.web = r.newWeb(tc)
	return nil
}

// newWeb returns the clients' HTTPS client.
func (r *run) newWeb(tc *tls.Config) *http.Client {
	return &http.Client{Timeout: r.cfg.RequestTimeout, Transport: &http.Transport{TLSClientConfig: tc,
		MaxIdleConnsPerHost: 64, DialContext: (&net.Dialer{Timeout: r.cfg.RequestTimeout}).DialContext}}
}

// runPhase runs the clients and the faults, then heals: for Duration
// with a timed plan, or Cycles faults one after another, each followed
// by a convergence probe.
func (r *run) runPhase(ctx context.Context, faults []inject.Kind) ([]inject.Event, error) {
	rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), 0x6e656d65))
	var plan []inject.Fault
	if len(faults) > 0 {
		var err error
		plan, err = inject.Schedule(inject.ScheduleConfig{Nodes: r.cfg.Nodes, Duration: r.cfg.Duration, Count: r.cfg.Cycles,
			Kinds: faults, HoldMin: r.cfg.HoldMin, HoldMax: r.cfg.HoldMax, QuietMin: r.cfg.QuietMin, QuietMax: r.cfg.QuietMax}, rng)
		if err != nil {
			return nil, err
		}
	}
	icfg := inject.Config{Target: r.cluster, Admin: inject.HTTPAdmin{Client: r.web, URL: r.nodeURL}, Members: r.cfg.Nodes,
		Exited: func(i int) bool { return !r.cluster.Running(i) }}
	if r.net != nil {
		icfg.Net = r.net
	}
	in, err := inject.New(icfg)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if r.cfg.Cycles == 0 {
		runCtx, cancel = context.WithTimeout(ctx, r.cfg.Duration)
		defer cancel()
	}
	r.start = time.Now()
	var wg sync.WaitGroup
	process := 0
	for _, wl := range r.cfg.Workloads {
		for range r.cfg.ClientsPerWorkload {
			c, err := nemesis.NewClient(wl, process, uint64(r.cfg.Seed), nemesis.WorkloadConfig{
				Prefix: fmt.Sprintf("nemesis-%d-%d/", r.cfg.Seed, r.start.UnixNano()), SharedKeys: 3})
			if err != nil {
				cancel()
				wg.Wait()
				return nil, err
			}
			wg.Add(1)
			go func(p int) {
				defer wg.Done()
				r.client(runCtx, p, c)
			}(process)
			process++
		}
	}
	var events []inject.Event
	var ierr error
	if r.cfg.Cycles > 0 {
		events, ierr = r.cycles(runCtx, in, plan)
		if runCtx.Err() == nil { // the last heal's quiet: writes go on, as after every other fault
			_ = clock.Sleep(runCtx, clock.Real{}, settle)
		}
		cancel()
	} else {
		events, ierr = r.runPlan(runCtx, in, plan)
	}
	<-runCtx.Done()
	wg.Wait()
	for _, f := range r.faults(events) {
		if err := r.enc.Fault(f); err != nil {
			return events, err
		}
	}
	return events, ierr
}

// settle is the quiet after the last cycle's probe before the clients
// stop.
const settle = 2 * time.Second

// runPlan carries out a timed plan, from now.
func (r *run) runPlan(ctx context.Context, in *inject.Injector, plan []inject.Fault) ([]inject.Event, error) {
	offset := time.Since(r.start)
	events, err := inject.Run(ctx, in, plan, nil, func(ev inject.Event) {
		ev.Started += offset
		if ev.Healed != 0 {
			ev.Healed += offset
		}
		r.logEvent(ev)
	})
	for i := range events {
		events[i].Started += offset
		events[i].Healed += offset
	}
	return events, err
}

// cycles carries out plan one fault at a time: the quiet before it, the
// fault, its heal, then a probe of the keys written around it until they
// agree on their replicas (or ConvergeTimeout passes), before the next
// fault's quiet begins.
func (r *run) cycles(ctx context.Context, in *inject.Injector, plan []inject.Fault) ([]inject.Event, error) {
	var events []inject.Event
	var errs []error
	prevHeal := time.Duration(0)
	for n, f := range plan {
		quiet, hold := f.At-prevHeal, f.Heal-f.At
		prevHeal = f.Heal
		f.At, f.Heal = quiet, quiet+hold
		evs, err := r.runPlan(ctx, in, []inject.Fault{f})
		if err != nil {
			errs = append(errs, err)
		}
		for _, ev := range evs {
			if ev.Healed > ev.Started && ctx.Err() == nil {
				p := r.probe(ctx, ev)
				r.mu.Lock()
				r.healConv[len(events)] = p
				r.mu.Unlock()
				r.logf("cycle %d/%d: %s: %d keys agree on their replicas %v after the heal%s", n+1, len(plan), ev.Kind, p.Keys,
					time.Duration(p.Nanos).Round(time.Millisecond), map[bool]string{false: " (NOT CONVERGED)", true: ""}[p.Converged])
			}
			events = append(events, ev)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return events, errors.Join(errs...)
}

// logEvent logs a fault as it starts and heals.
func (r *run) logEvent(ev inject.Event) {
	if ev.Healed == 0 {
		r.logf("%s: %s", ev.Started.Round(time.Millisecond), ev.Fault)
	} else {
		r.logf("%s: healed %s%s", ev.Healed.Round(time.Millisecond), ev.Kind, errSuffix(ev.Err))
	}
}

// faults maps the events onto the history's faults, with the
// convergence probed after each heal.
func (r *run) faults(events []inject.Event) []nemesis.Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]nemesis.Fault, len(events))
	for i, ev := range events {
		out[i] = faultOf(ev)
		out[i].Converge = r.healConv[i]
	}
	return out
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return " (" + e + ")"
}

// faultOf maps an inject event onto the history's fault.
func faultOf(ev inject.Event) nemesis.Fault {
	f := nemesis.Fault{Kind: nemesis.FaultKind(ev.Kind), Start: int64(ev.Started), End: int64(ev.Healed), Note: ev.Variant}
	for _, i := range ev.Nodes {
		f.Nodes = append(f.Nodes, nodeName(i))
	}
	if f.End < f.Start {
		f.End = f.Start
	}
	return f
}

func nodeName(i int) string { return "node" + strconv.Itoa(i) }

func (r *run) nodeURL(i int) string { return "https://" + r.cluster.HTTPAddr(i) }
