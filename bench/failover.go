package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/chorusdb/chorus/clock"
)

// FailoverConfig configures Failover: a closed-loop write load during
// which one node is killed and later restarted. Zero fields take the
// defaults of DefaultFailoverConfig.
type FailoverConfig struct {
	// Clients is the number of concurrent writers. Default 16.
	Clients int
	// Keys is the size of the key space. Default 10000.
	Keys int
	// ValueSize is the size of each written value in bytes. Default 100.
	ValueSize int
	// Duration is the length of the run. Default 30 s.
	Duration time.Duration
	// KillAt and RestartAt are when, from the start of the run, the
	// victim is killed and restarted: 0 < KillAt < RestartAt < Duration.
	// Defaults 8 s and 18 s.
	KillAt, RestartAt time.Duration
	// Seed seeds the writers' key choice. Default DefaultSeed.
	Seed int64
	// Progress receives the run's progress and the kill and restart
	// events. Default io.Discard.
	Progress io.Writer
}

// DefaultFailoverConfig returns the defaults documented on
// FailoverConfig.
func DefaultFailoverConfig() FailoverConfig {
	return FailoverConfig{Clients: 16, Keys: 10000, ValueSize: 100, Duration: 30 * time.Second,
		KillAt: 8 * time.Second, RestartAt: 18 * time.Second, Seed: DefaultSeed, Progress: io.Discard}
}

func (c FailoverConfig) withDefaults() FailoverConfig {
	d := DefaultFailoverConfig()
	c.Clients, c.Keys, c.ValueSize = orInt(c.Clients, d.Clients), orInt(c.Keys, d.Keys), orInt(c.ValueSize, d.ValueSize)
	if c.Duration == 0 && c.KillAt == 0 && c.RestartAt == 0 {
		c.Duration, c.KillAt, c.RestartAt = d.Duration, d.KillAt, d.RestartAt
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	if c.Progress == nil {
		c.Progress = d.Progress
	}
	return c
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Validate reports negative counts and a schedule that is not
// 0 < KillAt < RestartAt < Duration. Errors wrap ErrInvalidConfig.
func (c FailoverConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Clients < 1 || c.Keys < 1 || c.ValueSize < 0 {
		errs = append(errs, fmt.Errorf("clients (%d) and keys (%d) must be positive, value size (%d) not negative",
			c.Clients, c.Keys, c.ValueSize))
	}
	if !(0 < c.KillAt && c.KillAt < c.RestartAt && c.RestartAt < c.Duration) {
		errs = append(errs, fmt.Errorf("want 0 < kill at (%v) < restart at (%v) < duration (%v)", c.KillAt, c.RestartAt, c.Duration))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// Victim is the node a failover run kills and restarts.
type Victim struct {
	// Name describes it in the report, e.g. "node2" or "etcd0 (leader)".
	Name string
	// Kill stops it at once (SIGKILL) and returns once it has exited.
	Kill func() error
	// Restart starts it again on its data.
	Restart func(ctx context.Context) error
}

// FailoverRun is one target's failover measurement.
type FailoverRun struct {
	Target      string        `json:"target"`
	Victim      string        `json:"victim"`
	KilledAt    time.Duration `json:"-"` // JSON: killed_at_ms
	RestartedAt time.Duration `json:"-"` // JSON: restarted_at_ms
	// Before, Down and After are successful writes per second before the
	// kill (from the second second on), while the victim was down, and
	// after the restart settled (from 2 s after it, or from halfway to
	// the end in a run too short for that).
	Before float64 `json:"ops_per_sec_before"`
	Down   float64 `json:"ops_per_sec_down"`
	After  float64 `json:"ops_per_sec_after"`
	// Stall is the longest stretch without a successful write, from
	// StallAt; Recovery how long after the restart the rate was back to
	// 90% of Before for good: every second from then on (-1: never).
	Stall    time.Duration `json:"-"` // JSON: longest_stall_ms
	StallAt  time.Duration `json:"-"` // JSON: longest_stall_at_ms
	Recovery time.Duration `json:"-"` // JSON: recovery_ms, -1 for never
	Errors   int64         `json:"errors"`
	Report   *Report       `json:"report"`
	// Timeline is the run's successes and failures per TimelineStep.
	Timeline []Step `json:"-"`
}

// MarshalJSON writes r with its times in milliseconds.
func (r FailoverRun) MarshalJSON() ([]byte, error) {
	type plain FailoverRun // without this method
	recovery := ms(r.Recovery)
	if r.Recovery < 0 {
		recovery = -1
	}
	return json.Marshal(struct {
		plain
		KilledAtMS    float64 `json:"killed_at_ms"`
		RestartedAtMS float64 `json:"restarted_at_ms"`
		StallMS       float64 `json:"longest_stall_ms"`
		StallAtMS     float64 `json:"longest_stall_at_ms"`
		RecoveryMS    float64 `json:"recovery_ms"`
	}{plain(r), ms(r.KilledAt), ms(r.RestartedAt), ms(r.Stall), ms(r.StallAt), recovery})
}

// Failover runs cfg's write load against t, kills the victim at
// cfg.KillAt and restarts it at cfg.RestartAt, and summarizes the
// timeline (see FailoverRun.Summarize). target names t in the report.
func Failover(ctx context.Context, t Target, target string, v Victim, cfg FailoverConfig) (*FailoverRun, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	load := Config{Op: OpPut, Clients: cfg.Clients, Duration: cfg.Duration, Keys: cfg.Keys, ValueSize: cfg.ValueSize,
		Seed: cfg.Seed, Progress: cfg.Progress}
	fmt.Fprintf(cfg.Progress, "failover: %s, %d writers for %v; %s dies at %v and restarts at %v\n",
		target, cfg.Clients, cfg.Duration, v.Name, cfg.KillAt, cfg.RestartAt)
	run := &FailoverRun{Target: target, Victim: v.Name}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var faultErr error
	start := time.Now()
	wg.Go(func() {
		if faultErr = run.fault(ctx, start, v, cfg); faultErr != nil {
			cancel()
		}
	})
	res, err := Run(ctx, t, load)
	cancel()
	wg.Wait()
	if err = errors.Join(faultErr, err); err != nil {
		return nil, fmt.Errorf("bench: failover of %s: %w", target, err)
	}
	run.Summarize(res)
	return run, nil
}

// fault kills and restarts v on cfg's schedule from start, recording
// when; it returns early, without error, if ctx ends.
func (r *FailoverRun) fault(ctx context.Context, start time.Time, v Victim, cfg FailoverConfig) error {
	if clock.Sleep(ctx, clock.Real{}, time.Until(start.Add(cfg.KillAt))) != nil {
		return nil
	}
	if err := v.Kill(); err != nil {
		return err
	}
	r.KilledAt = time.Since(start)
	fmt.Fprintf(cfg.Progress, "failover: killed %s at %v\n", v.Name, r.KilledAt.Round(time.Millisecond))
	if clock.Sleep(ctx, clock.Real{}, time.Until(start.Add(cfg.RestartAt))) != nil {
		return nil
	}
	r.RestartedAt = time.Since(start)
	if err := v.Restart(ctx); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Progress, "failover: restarted %s at %v\n", v.Name, r.RestartedAt.Round(time.Millisecond))
	return nil
}

// Summarize fills the rates, the longest stall, the errors and the
// recovery time from res, given r.KilledAt and r.RestartedAt.
func (r *FailoverRun) Summarize(res *Result) {
	r.Report, r.Timeline = NewReport(res), res.Timeline
	r.Errors = 0
	for _, s := range res.Ops {
		r.Errors += s.Errors
	}
	r.Stall, r.StallAt = res.LongestStall()
	tl := rateWindow(res.Timeline)
	end := time.Duration(len(res.Timeline)) * TimelineStep
	r.Before = tl.rate(time.Second, r.KilledAt) // the first second warms up
	r.Down = tl.rate(r.KilledAt+TimelineStep, r.RestartedAt)
	afterFrom := r.RestartedAt + 2*time.Second
	if afterFrom > end-time.Second {
		afterFrom = r.RestartedAt + (end-r.RestartedAt)/2
	}
	r.After = tl.rate(afterFrom, end)
	r.Recovery = tl.recovery(r.RestartedAt, 0.9*r.Before)
}

// rateWindow computes success rates over stretches of a timeline.
type rateWindow []Step

// rate returns the successes per second in the whole steps from from to
// to, 0 if there are none.
func (tl rateWindow) rate(from, to time.Duration) float64 {
	var ok int64
	n := 0
	for i := int(from / TimelineStep); i < int(to/TimelineStep) && i < len(tl); i++ {
		ok += tl[i].OK
		n++
	}
	if n == 0 {
		return 0
	}
	return float64(ok) / (float64(n) * TimelineStep.Seconds())
}

// recovery returns how long after since the rate reached floor for
// good: the earliest step from which every whole second to the end ran
// at floor or more (a brief good second in a slow stretch does not
// count); -1 if the last second did not.
func (tl rateWindow) recovery(since time.Duration, floor float64) time.Duration {
	end := time.Duration(len(tl)) * TimelineStep
	rec := time.Duration(-1)
	for at := end - time.Second; at >= since; at -= TimelineStep {
		if tl.rate(at, at+time.Second) < floor {
			return rec
		}
		rec = at - since
	}
	return rec
}

// WriteFailoverTable writes one row per run: the rates before, during
// and after, the longest stall, the failed writes and the recovery.
func WriteFailoverTable(w io.Writer, cfg FailoverConfig, runs []*FailoverRun) error {
	cfg = cfg.withDefaults()
	fmt.Fprintf(w, "\nfailover: %d writers, %d-byte durable puts, %v per run; kill at %v, restart at %v\n\n",
		cfg.Clients, cfg.ValueSize, cfg.Duration, cfg.KillAt, cfg.RestartAt)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tkilled\tputs/s before\twhile down\tafter restart\tlongest stall\tat\tfailed\tback to 90% for good\t")
	for _, r := range runs {
		rec := "never"
		if r.Recovery >= 0 {
			rec = r.Recovery.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.0f\t%v\t%v\t%d\t%s\t\n", r.Target, r.Victim, r.Before, r.Down, r.After,
			r.Stall, r.StallAt, r.Errors, rec)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nlongest stall: the longest run of 100 ms steps without a successful write, and when it began.")
	return err
}
