package chorustest

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// Timeout bounds Eventually. It is long because it is never waited in a
// passing run: a condition that holds returns at the first poll after it
// does, and only a broken one, or a machine loaded far beyond normal, waits
// it out.
const Timeout = 10 * time.Second

// pollEvery is how often Eventually checks its condition.
const pollEvery = time.Millisecond

// Eventually polls cond until it holds, and fails the test, naming what it
// waited for, if it does not within Timeout. Use it where another goroutine
// makes cond true; never to let time pass.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > Timeout {
			t.Fatalf("still waiting after %v for %s", Timeout, what)
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
