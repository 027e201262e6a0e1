package chorustest

import (
	"strings"
	"sync/atomic"
	"testing"
)

// recorder is a testing.TB that records failures and logs instead of
// failing the real test.
type recorder struct {
	testing.TB
	failed   bool
	fatal    string
	logs     []string
	cleanups []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.fatal = format
	panic(r) // stop the caller, as FailNow's Goexit does
}
func (r *recorder) Logf(format string, args ...any) { r.logs = append(r.logs, format) }
func (r *recorder) Cleanup(f func())                { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Failed() bool                    { return r.failed }

func TestEventuallyReturnsOnceTrue(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 5 {
			n.Add(1)
		}
	}()
	Eventually(t, "five increments", func() bool { return n.Load() == 5 })
}

func TestSeedFromEnvReplays(t *testing.T) {
	t.Setenv(SeedEnv, "12345")
	a, b := Rand(t), Rand(t)
	for i := range 10 {
		if x, y := a.Uint64(), b.Uint64(); x != y {
			t.Fatalf("draw %d: %d and %d from the same %s", i, x, y, SeedEnv)
		}
	}
	if got := Seed(t); got != 12345 {
		t.Errorf("Seed with %s=12345 = %d", SeedEnv, got)
	}
}

func TestSeedReportedOnFailure(t *testing.T) {
	r := &recorder{TB: t}
	Seed(r)
	r.failed = true
	for _, f := range r.cleanups {
		f()
	}
	if len(r.logs) != 2 || !strings.Contains(r.logs[1], "failed with seed") {
		t.Fatalf("logs %q: want the seed logged at start and again on failure", r.logs)
	}
}

func TestBadSeedEnvFails(t *testing.T) {
	t.Setenv(SeedEnv, "not-a-number")
	r := &recorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		Seed(r)
	}()
	if !r.failed {
		t.Fatalf("Seed with %s=not-a-number did not fail the test", SeedEnv)
	}
}
