package bench

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// timelineOf builds a timeline from per-second success rates: each
// second is 10 steps of rate/10 successful writes.
func timelineOf(perSecond ...int64) []Step {
	var tl []Step
	for _, r := range perSecond {
		for range 10 {
			tl = append(tl, Step{OK: r / 10})
		}
	}
	return tl
}

func TestFailoverSummarize(t *testing.T) {
	s := time.Second
	tests := []struct {
		name                string
		perSecond           []int64
		killed, restarted   time.Duration
		before, down, after float64
		recovery            time.Duration
		stall               time.Duration
	}{
		{
			name:      "back at once",
			perSecond: []int64{500, 1000, 1000, 1000, 0, 0, 1000, 1000, 1000, 1000, 1000},
			killed:    4 * s, restarted: 6 * s,
			before: 1000, down: 0, after: 1000, recovery: 0, stall: 2 * s,
		},
		{
			name:      "a slow drain after the restart",
			perSecond: []int64{1000, 1000, 1000, 500, 500, 500, 800, 800, 1000, 1000, 1000},
			killed:    3 * s, restarted: 5 * s,
			// The windows from 7.5 s on average 900/s or more.
			before: 1000, down: 500, after: 950, recovery: 2500 * time.Millisecond,
		},
		{
			// The good second 6 inside a slow stretch does not count: the
			// recovery is from the windows clear of second 7 on.
			name:      "a brief good second",
			perSecond: []int64{1000, 1000, 1000, 500, 500, 500, 1000, 500, 1000, 1000, 1000},
			killed:    3 * s, restarted: 5 * s,
			before: 1000, down: 500, after: 875, recovery: 2800 * time.Millisecond,
		},
		{
			name:      "never back",
			perSecond: []int64{1000, 1000, 1000, 0, 0, 500, 500, 500, 500, 500},
			killed:    3 * s, restarted: 5 * s,
			before: 1000, down: 0, after: 500, recovery: -1, stall: 2 * s,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := &Result{Timeline: timelineOf(tt.perSecond...), Ops: []*OpStats{{Op: "put", Errors: 7}}}
			r := &FailoverRun{KilledAt: tt.killed, RestartedAt: tt.restarted}
			r.Summarize(res)
			near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, b) }
			if !near(r.Before, tt.before) || !near(r.Down, tt.down) || !near(r.After, tt.after) {
				t.Errorf("rates before/down/after = %v/%v/%v, want %v/%v/%v", r.Before, r.Down, r.After, tt.before, tt.down, tt.after)
			}
			if r.Recovery != tt.recovery {
				t.Errorf("recovery = %v, want %v", r.Recovery, tt.recovery)
			}
			if r.Stall != tt.stall || r.Errors != 7 {
				t.Errorf("stall %v, errors %d; want %v and 7", r.Stall, r.Errors, tt.stall)
			}
		})
	}
}

func TestFailoverConfigValidate(t *testing.T) {
	s := time.Second
	for _, tt := range []struct {
		cfg  FailoverConfig
		want string
	}{
		{FailoverConfig{}, ""},
		{DefaultFailoverConfig(), ""},
		{FailoverConfig{Duration: 5 * s, KillAt: 3 * s, RestartAt: 2 * s}, "kill at (3s) < restart at (2s)"},
		{FailoverConfig{Duration: 5 * s, KillAt: 1 * s, RestartAt: 5 * s}, "< duration (5s)"},
		{FailoverConfig{Clients: -1}, "clients (-1)"},
	} {
		err := tt.cfg.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (!errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestWriteFailoverTable(t *testing.T) {
	runs := []*FailoverRun{
		{Target: "chorus", Victim: "node2", Before: 7000, Down: 6900, After: 7100, Recovery: 1234 * time.Millisecond},
		{Target: "etcd", Victim: "etcd0 (leader)", Before: 9000, Down: 8000, After: 8500, Stall: 2 * time.Second,
			StallAt: 8 * time.Second, Errors: 3, Recovery: -1},
	}
	var b strings.Builder
	if err := WriteFailoverTable(&b, DefaultFailoverConfig(), runs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`16 writers, 100-byte durable puts, 30s per run; kill at 8s, restart at 18s`,
		`(?m)^ +chorus +node2 +7000 +6900 +7100 +0s +0s +0 +1\.2s *$`,
		`(?m)^ +etcd +etcd0 \(leader\) +9000 +8000 +8500 +2s +8s +3 +never *$`} {
		if !regexp.MustCompile(want).MatchString(b.String()) {
			t.Errorf("table lacks %s:\n%s", want, b.String())
		}
	}
}
