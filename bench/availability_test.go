package bench

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestAvailabilityUnderFaults: on five nodes with one cut off, sloppy
// W=R=N=3 quorums stay available (fallbacks stand in) while strict ones
// fail for the keys the dead node holds; under a 2|3 partition, strict
// R=W=2 fails some requests on the minority side and sloppy ones do not.
// (Each request has 2 s, so that a starved machine does not time them
// out.)
func TestAvailabilityUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs in-memory clusters")
	}
	measure := func(f Fault, r, w int, strict bool) *Availability {
		t.Helper()
		cfg := AvailabilityConfig{N: 3, R: r, W: w, Strict: strict, Fault: f, Duration: 500 * time.Millisecond,
			Keys: 200, Seed: 5, Timeout: 2 * time.Second}
		a, err := MeasureAvailability(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s R=%d W=%d strict=%v: %v", f, r, w, strict, err)
		}
		if a.Puts == 0 || a.Gets == 0 {
			t.Fatalf("%s: %d puts and %d gets sent, want some of each", f, a.Puts, a.Gets)
		}
		t.Logf("%s R=%d W=%d strict=%v: %.3f of %d requests succeeded (%d sloppy), seed %d; errors %v",
			f, r, w, strict, a.Share(), a.Puts+a.Gets, a.Sloppy, cfg.Seed, a.Errors)
		return a
	}
	if a := measure(NoFault, 2, 2, true); a.Share() < 0.99 {
		t.Errorf("healthy cluster: %.3f succeeded, want all", a.Share())
	}
	if a := measure(OneDown, 3, 3, false); a.Share() < 0.99 || a.Sloppy == 0 {
		t.Errorf("one down, sloppy R=W=3: %.3f succeeded (%d sloppy); want all, with fallbacks", a.Share(), a.Sloppy)
	}
	if a := measure(OneDown, 3, 3, true); a.Share() > 0.7 || a.Share() < 0.1 {
		t.Errorf("one down, strict R=W=3: %.3f succeeded; want the keys without the dead node (about 2/5)", a.Share())
	}
	sloppy := measure(Partition, 2, 2, false)
	if sloppy.Share() < 0.99 {
		t.Errorf("2|3 partition, sloppy R=W=2: %.3f succeeded; want all", sloppy.Share())
	}
	if a := measure(Partition, 2, 2, true); a.Share() > sloppy.Share()-0.2 {
		t.Errorf("2|3 partition, strict R=W=2: %.3f succeeded, sloppy %.3f; want strict to fail the keys short of primaries",
			a.Share(), sloppy.Share())
	}
}

func TestAvailabilityConfigValidate(t *testing.T) {
	for name, cfg := range map[string]AvailabilityConfig{
		"R above N":     {N: 3, R: 4, W: 1},
		"N above nodes": {Nodes: 3, N: 5, R: 1, W: 1},
		"unknown fault": {N: 3, R: 1, W: 1, Fault: "meteor"},
		"no quorum":     {},
	} {
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Validate = %v, want ErrInvalidConfig", name, err)
		}
	}
	if err := (AvailabilityConfig{N: 3, R: 2, W: 2}).Validate(); err != nil {
		t.Errorf("N=3 R=2 W=2: %v", err)
	}
}
