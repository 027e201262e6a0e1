package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// OpStats are the statistics of one operation kind in a run.
type OpStats struct {
	// Op is the kind: "put", "get", "insert", "rmw" (read-modify-write)
	// or "delete".
	Op string
	// Count is the number of measured operations that got an answer:
	// successes, misses and errors. Operations cut short by the end of
	// the caller's context are not counted.
	Count int64
	// Misses are the gets answered with ErrNotFound.
	Misses int64
	// Errors is the number of failed operations, and ErrorKinds splits it
	// by kind (at most MaxErrorKinds kinds, then OtherErrors).
	Errors     int64
	ErrorKinds map[string]int64
	// OpsPerSec is Count divided by Result.Elapsed (or by the preload's
	// duration, for Result.Preload).
	OpsPerSec float64
	// Latency holds the latencies of the operations that did not fail
	// (successes and misses): Latency.Count() == Count - Errors. In an
	// open-loop run (Config.Rate) each is measured from the operation's
	// scheduled start.
	Latency Histogram
	// Service holds, for an open-loop run only, the same operations'
	// latencies from when each was sent: Latency minus the time it waited
	// for a free client. The gap between the two is the queueing a
	// closed-loop benchmark would have hidden.
	Service Histogram
}

func (s *OpStats) addErrors(kind string, n int64) {
	s.Errors += n
	if s.ErrorKinds == nil {
		s.ErrorKinds = map[string]int64{}
	}
	if _, ok := s.ErrorKinds[kind]; !ok && len(s.ErrorKinds) >= MaxErrorKinds {
		kind = OtherErrors
	}
	s.ErrorKinds[kind] += n
}

func (s *OpStats) merge(o *OpStats) {
	s.Count += o.Count
	s.Misses += o.Misses
	for k, n := range o.ErrorKinds {
		s.addErrors(k, n)
	}
	s.Latency.Merge(&o.Latency)
	s.Service.Merge(&o.Service)
}

// Result is the outcome of a run.
type Result struct {
	// Config is the run's configuration, defaults filled in.
	Config Config
	// Ops has one entry per operation kind the mix issues, in the order
	// put, get, insert, rmw, delete.
	Ops []*OpStats
	// Preload holds the writes of the preload, nil when there was none.
	Preload *OpStats
	// PreloadElapsed is how long the preload took.
	PreloadElapsed time.Duration
	// Elapsed is the duration of the measured part of the run (after
	// Warmup), until the last client stopped.
	Elapsed time.Duration
	// Timeline counts completions per TimelineStep of the measured part
	// of a run bounded by Duration (nil for one bounded by Ops alone).
	Timeline []Step
}

// worker is the state of one client goroutine. The progress printer reads
// and resets the tick fields once per second, hence the mutex; it is
// otherwise uncontended.
type worker struct {
	mu       sync.Mutex
	stats    [numKinds]OpStats
	tick     Histogram
	tickOps  int64
	tickErrs int64
}

// record counts one answered operation; kind names err when it is an
// error other than ErrNotFound. Warmup operations (measured false) show in
// the progress lines only.
func (w *worker) record(k int, d, service time.Duration, err error, kind string, measured bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tickOps++
	failed := err != nil && !errors.Is(err, ErrNotFound)
	if failed {
		w.tickErrs++
	} else {
		w.tick.Record(d)
	}
	if !measured {
		return
	}
	s := &w.stats[k]
	s.Count++
	switch {
	case failed:
		s.addErrors(kind, 1)
	default:
		if err != nil {
			s.Misses++
		}
		s.Latency.Record(d)
		if service >= 0 {
			s.Service.Record(service)
		}
	}
}

// takeTick returns and resets the progress counters of the last second.
func (w *worker) takeTick(into *Histogram) (ops, errs int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	into.Merge(&w.tick)
	w.tick.Reset()
	ops, errs = w.tickOps, w.tickErrs
	w.tickOps, w.tickErrs = 0, 0
	return ops, errs
}

// runner holds what every client goroutine of a run shares.
type runner struct {
	t      Target
	del    Deleter // nil when t cannot delete
	cfg    Config
	mix    mix
	keys   *keyChooser
	kindOf func(error) string
	tl     *timeline // nil when the run has no Duration
	edges  windowEdges
}

// windowEdges are called as the measured part of a run opens (after the
// preload and Warmup) and as it closes (once the last client has
// stopped), each once, one after the other; nil ones are skipped. Compare
// samples the servers' CPU time with them, so that neither the preload
// nor the warm-up is charged to the measured operations.
type windowEdges struct {
	open, close func()
}

// Run runs the workload of cfg against t and returns its statistics.
// Errors of t are counted, not returned. When the mix reads and
// cfg.NoPreload is false, Run first writes every key once (in parallel,
// with progress lines labelled "preload").
//
// Run returns an error wrapping ErrInvalidConfig for a bad cfg. When ctx
// ends early, Run stops promptly, waits for its goroutines, and returns
// what it measured so far together with ctx.Err().
func Run(ctx context.Context, t Target, cfg Config) (*Result, error) {
	return run(ctx, t, cfg, windowEdges{})
}

// run is Run, calling edges at the edges of the measured window.
func run(ctx context.Context, t Target, cfg Config, edges windowEdges) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	r := &runner{t: t, cfg: cfg, mix: cfg.mixOf(), keys: newKeyChooser(cfg),
		kindOf: func(err error) string { return err.Error() }, edges: edges}
	if k, ok := t.(ErrorKinder); ok {
		r.kindOf = k.ErrorKind
	}
	r.del, _ = t.(Deleter)
	if r.mix.has(kindDelete) && r.del == nil {
		return nil, fmt.Errorf("%w: the %q mix deletes, and the target has no Delete", ErrInvalidConfig, cfg.Op)
	}
	res := &Result{Config: cfg}
	if cfg.readsExisting() && !cfg.NoPreload {
		res.Preload, res.PreloadElapsed = r.preload(ctx)
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	res.Ops, res.Elapsed = r.measure(ctx)
	res.Timeline = r.tl.steps(res.Elapsed)
	return res, ctx.Err()
}

// preload writes keys 0..Keys-1 once, spread over the clients.
func (r *runner) preload(ctx context.Context) (*OpStats, time.Duration) {
	var next atomic.Int64
	start := time.Now()
	workers := r.drive(ctx, func(time.Time) string { return "preload" }, func(w *worker, i int) {
		rng := r.rand(i)
		values, key := r.values(rng), make([]byte, 0, 16)
		for ctx.Err() == nil {
			n := next.Add(1) - 1
			if n >= int64(r.cfg.Keys) {
				return
			}
			key = appendKey(key[:0], int(n))
			r.do(ctx, w, kindPut, key, values.next(rng), true, time.Time{})
		}
	})
	elapsed := time.Since(start)
	s := &OpStats{Op: "put"}
	for _, w := range workers {
		s.merge(&w.stats[kindPut])
	}
	s.OpsPerSec = perSec(s.Count, elapsed)
	return s, elapsed
}

// measure runs the workload: Warmup, then Duration or Ops.
func (r *runner) measure(ctx context.Context) ([]*OpStats, time.Duration) {
	cfg := r.cfg
	origin := time.Now()
	start := origin.Add(cfg.Warmup)
	var end time.Time
	if cfg.Duration > 0 {
		end = start.Add(cfg.Duration)
		r.tl = newTimeline(start, cfg.Duration)
	}
	var claimed atomic.Int64
	label := func(now time.Time) string {
		if now.Before(start) {
			return "warmup"
		}
		return "run"
	}
	opened := r.openAt(start)
	workers := r.drive(ctx, label, func(w *worker, i int) {
		rng := r.rand(i)
		values, key := r.values(rng), make([]byte, 0, 16)
		pace := newPacer(origin, cfg.Rate, cfg.Clients, i)
		for ctx.Err() == nil {
			now := time.Now()
			var scheduled time.Time
			if pace != nil {
				scheduled = pace.next()
				now = scheduled
			}
			if !end.IsZero() && !now.Before(end) {
				return
			}
			measured := !now.Before(start)
			if measured && cfg.Ops > 0 && claimed.Add(1) > cfg.Ops {
				return
			}
			if pace != nil && !pace.wait(ctx, scheduled) {
				return
			}
			k := r.mix.pick(rng.Float64())
			n := 0
			if k == kindInsert {
				n = r.keys.insert()
			} else {
				n = r.keys.next(rng)
			}
			key = appendKey(key[:0], n)
			r.do(ctx, w, k, key, values.next(rng), measured, scheduled)
		}
	})
	elapsed := max(time.Since(start), 0)
	opened()
	if r.edges.close != nil {
		r.edges.close()
	}
	var ops []*OpStats
	for k := range numKinds {
		if !r.mix.has(k) {
			continue
		}
		s := &OpStats{Op: kindNames[k]}
		for _, w := range workers {
			s.merge(&w.stats[k])
		}
		s.OpsPerSec = perSec(s.Count, elapsed)
		ops = append(ops, s)
	}
	return ops, elapsed
}

// openAt calls the window's open edge at start: at once when start has
// come, else from a goroutine that waits for it. The returned func waits
// for that goroutine, first opening the window itself if start has not
// come yet (a run that ended during its warm-up), so that open always
// precedes close.
func (r *runner) openAt(start time.Time) (wait func()) {
	open := r.edges.open
	if open == nil {
		return func() {}
	}
	d := time.Until(start)
	if d <= 0 {
		open()
		return func() {}
	}
	early := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-early:
		}
		open()
	})
	return func() {
		close(early)
		wg.Wait()
	}
}

// do issues one operation and records it, unless the caller's context
// ended: an operation cut short by the caller says nothing of the target.
// scheduled is the operation's start in an open loop, zero in a closed
// one.
func (r *runner) do(ctx context.Context, w *worker, k int, key, value []byte, measured bool, scheduled time.Time) {
	sent := time.Now()
	err := r.issue(ctx, k, key, value)
	done := time.Now()
	if err != nil && ctx.Err() != nil {
		return
	}
	from, service := sent, time.Duration(-1)
	if !scheduled.IsZero() {
		from, service = scheduled, done.Sub(sent)
	}
	kind := ""
	if err != nil && !errors.Is(err, ErrNotFound) {
		kind = r.kindOf(err)
	}
	if measured {
		r.tl.add(done, kind == "")
	}
	w.record(k, done.Sub(from), service, err, kind, measured)
}

// issue sends one operation of kind k. A read-modify-write reads the key
// and writes it back (with the context the read returned, for targets
// that keep one) unless the read failed.
func (r *runner) issue(ctx context.Context, k int, key, value []byte) error {
	switch k {
	case kindGet:
		return r.t.Get(ctx, key)
	case kindDelete:
		return r.del.Delete(ctx, key)
	case kindRMW:
		if err := r.t.Get(ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return r.t.Put(ctx, key, value)
	default: // kindPut, kindInsert
		return r.t.Put(ctx, key, value)
	}
}

// drive runs loop on cfg.Clients goroutines, printing a progress line per
// second labelled by label, and returns the workers once every goroutine
// (the printer included) has exited.
func (r *runner) drive(ctx context.Context, label func(time.Time) string, loop func(w *worker, i int)) []*worker {
	workers := make([]*worker, r.cfg.Clients)
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = &worker{}
		wg.Go(func() { loop(workers[i], i) })
	}
	stop := make(chan struct{})
	var printer sync.WaitGroup
	printer.Go(func() { r.progress(stop, label, workers) })
	wg.Wait()
	close(stop)
	printer.Wait()
	return workers
}

// progress prints one line per second until stop is closed.
func (r *runner) progress(stop <-chan struct{}, label func(time.Time) string, workers []*worker) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	begin, last := time.Now(), time.Now()
	var h Histogram
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			h.Reset()
			var ops, errs int64
			for _, w := range workers {
				o, e := w.takeTick(&h)
				ops, errs = ops+o, errs+e
			}
			printProgress(r.cfg.Progress, label(now), now.Sub(begin), perSec(ops, now.Sub(last)), &h, errs)
			last = now
		}
	}
}

func printProgress(w io.Writer, label string, elapsed time.Duration, opsPerSec float64, h *Histogram, errs int64) {
	fmt.Fprintf(w, "%-7s %5.0fs %9.0f ops/s  p50 %9s  p99 %9s  errors %d\n", label, elapsed.Seconds(),
		opsPerSec, fmtDuration(h.Quantile(0.5)), fmtDuration(h.Quantile(0.99)), errs)
}

// rand returns client i's random source.
func (r *runner) rand(i int) *rand.Rand { return newRand(r.cfg.Seed, i) }

// newRand returns the random source of client i of a run seeded seed.
func newRand(seed int64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(i)))
}

// valueSource hands out the values a client writes: slices of one
// random buffer, ValueSize bytes long or, with ValueSizeMax above it,
// of a length uniform between the two.
type valueSource struct {
	buf      []byte
	min, max int
}

func (r *runner) values(rng *rand.Rand) *valueSource {
	v := &valueSource{buf: make([]byte, r.cfg.ValueSizeMax), min: r.cfg.ValueSize, max: r.cfg.ValueSizeMax}
	for i := range v.buf {
		v.buf[i] = byte('a' + rng.IntN(26))
	}
	return v
}

func (v *valueSource) next(rng *rand.Rand) []byte {
	if v.max == v.min {
		return v.buf
	}
	return v.buf[:v.min+rng.IntN(v.max-v.min+1)]
}

// appendKey appends "key-%08d" of n to b without fmt's allocations.
func appendKey(b []byte, n int) []byte {
	b = append(b, "key-"...)
	for d := 10000000; d > 1 && n < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// Key returns the i-th key of the key space, as the runner writes it.
func Key(i int) string { return string(appendKey(nil, i)) }

func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
