package chorustest

import (
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// Timeout bounds Eventually and EventuallyOK. It is long because it is
// never waited in a passing run: a condition that holds returns at the
// first poll after it does, and only a broken one, or a machine loaded far
// beyond normal, waits it out. 30 s covers the slowest condition polled,
// gossip's failure detection under load.
const Timeout = 30 * time.Second

// pollEvery is how often the condition is checked.
const pollEvery = time.Millisecond

// Eventually polls cond until it holds, and fails the test, naming what it
// waited for, if it does not within Timeout. Use it where another goroutine
// makes cond true; never to let time pass.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyOK(t, what, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
}

var errNotYet = errors.New("condition false")

// EventuallyOK is Eventually for a condition that says why it does not
// hold yet: it polls cond until it returns nil, and the failure names what
// it waited for and cond's last error.
func EventuallyOK(t testing.TB, what string, cond func() error) {
	t.Helper()
	start := time.Now()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Since(start) > Timeout {
			if err == errNotYet {
				t.Fatalf("still waiting after %v for %s", Timeout, what)
			}
			t.Fatalf("still waiting after %v for %s: %v", Timeout, what, err)
		}
		time.Sleep(pollEvery)
	}
}

// SeedEnv is the environment variable that fixes the seed Rand uses.
const SeedEnv = "CHORUS_SEED"

// Seed returns the seed of this test's randomness: CHORUS_SEED if set,
// otherwise a fresh one. It logs the seed, and logs it again at the end
// of a failed test, so that any failure can be replayed with
// CHORUS_SEED=<seed>.
func Seed(t testing.TB) uint64 {
	t.Helper()
	seed, fromEnv := seedFromEnv(t)
	if !fromEnv {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (replay with %s=%d)", seed, SeedEnv, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("failed with seed %d: replay with %s=%d", seed, SeedEnv, seed)
		}
	})
	return seed
}

func seedFromEnv(t testing.TB) (uint64, bool) {
	t.Helper()
	s := os.Getenv(SeedEnv)
	if s == "" {
		return 0, false
	}
	seed, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", SeedEnv, s, err)
	}
	return seed, true
}

// Rand returns a source of randomness seeded by Seed(t).
func Rand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := Seed(t)
	return rand.New(rand.NewPCG(seed, seed))
}
