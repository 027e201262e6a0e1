package pbs

import (
	"math"
	"testing"
	"time"
)

// TestLocalCoordinatorsReadTheirOwnCopy: when every node is a replica
// (Nodes == N) and remote writes take 1 s, a W=1 write commits on the
// writer's own copy at once, and an R=1 read answers from the reader's
// own copy, another replica: stale until the write arrives there.
func TestLocalCoordinatorsReadTheirOwnCopy(t *testing.T) {
	cfg := Config{Quorum: Quorum{N: 3, R: 1, W: 1}, Nodes: 3, Trials: 2000, Seed: 3,
		Legs:   Legs{W: Constant(time.Second), A: Constant(time.Millisecond), R: Constant(time.Millisecond), S: Constant(time.Millisecond)},
		Deltas: []time.Duration{0, 999 * time.Millisecond, time.Second}}
	p, err := Predict(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Points[0].Consistent; c != 0 {
		t.Errorf("seed %d: P(consistent at 0) = %v, want 0 (the reader's own copy answers first, without the write)", cfg.Seed, c)
	}
	if c := p.Points[2].Consistent; c != 1 {
		t.Errorf("seed %d: P(consistent at 1s) = %v, want 1 (the write reached every copy)", cfg.Seed, c)
	}
	// Without coordinators on replicas, the same legs give the classic
	// model: no write commits before every copy has it.
	cfg.Nodes = 0
	if p, err = Predict(cfg); err != nil {
		t.Fatal(err)
	}
	if c := p.Points[0].Consistent; c != 1 {
		t.Errorf("seed %d: classic WARS, P(consistent at 0) = %v, want 1", cfg.Seed, c)
	}
}

// TestLocalShareFollowsNodes: with remote writes taking an hour, a W=1
// write through a coordinator that holds a copy commits at once and only
// that copy has it at Δ=0; through one that does not, it commits when
// every copy has it. An R=1 read is then consistent unless the writer
// was local and the read answered from another copy: the reader's own
// (probability 2/(Nodes-1)) or, failing that, one of the three tied
// remote copies (2/3). So P = 1 - (3/n) * (2/(n-1) + (1-2/(n-1)) * 2/3).
func TestLocalShareFollowsNodes(t *testing.T) {
	const trials = 40000
	for _, nodes := range []int{3, 5, 10} {
		cfg := Config{Quorum: Quorum{N: 3, R: 1, W: 1}, Nodes: nodes, Trials: trials, Seed: 9,
			Legs:   Legs{W: Constant(time.Hour), A: Constant(0), R: Constant(time.Millisecond), S: Constant(0)},
			Deltas: []time.Duration{0}}
		p, err := Predict(cfg)
		if err != nil {
			t.Fatal(err)
		}
		n := float64(nodes)
		own := 2 / (n - 1)
		want := 1 - 3/n*(own+(1-own)*2/3)
		sd := math.Sqrt(want * (1 - want) / trials)
		if c := p.Points[0].Consistent; math.Abs(c-want) > 5*sd+1e-9 {
			t.Errorf("nodes %d seed %d: P(consistent) = %.4f, want %.4f ± %.4f", nodes, cfg.Seed, c, want, 5*sd)
		}
	}
}

// TestClientDelayShiftsDelta: constant client legs c make the curve at Δ
// what it was at Δ + c without them (constant legs draw no random
// numbers, so the trials are the same).
func TestClientDelayShiftsDelta(t *testing.T) {
	ms := time.Millisecond
	base := Config{Quorum: Quorum{N: 3, R: 1, W: 1}, Trials: 5000, Seed: 4,
		Legs: Legs{W: Exponential{Mean: 2 * ms}, A: Exponential{Mean: ms}, R: Exponential{Mean: ms}, S: Exponential{Mean: ms}}}
	shifted := base
	shifted.ClientAck, shifted.ClientRead = Constant(ms), Constant(2*ms)
	shifted.Deltas = []time.Duration{0, 2 * ms}
	base.Deltas = []time.Duration{3 * ms, 5 * ms}
	a, err := Predict(base)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Predict(shifted)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Points {
		if a.Points[i].Consistent != b.Points[i].Consistent {
			t.Errorf("seed %d: at Δ=%v with 3 ms of client legs P = %v; without them at Δ=%v P = %v; want equal",
				base.Seed, b.Points[i].Delta, b.Points[i].Consistent, a.Points[i].Delta, a.Points[i].Consistent)
		}
	}
}

func TestNodesValidate(t *testing.T) {
	for _, nodes := range []int{-1, 1, 2} {
		cfg := DefaultConfig()
		cfg.Nodes = nodes
		if err := cfg.Validate(); err == nil {
			t.Errorf("Nodes %d with N=3: Validate passed, want an error", nodes)
		}
	}
}

// TestLocalAckDelaysTheCommit: a write coordinator whose own copy takes
// 10 ms to count (a sync) commits a W=1 write when a remote copy's 2 ms
// ack arrives instead, and by then the reader's copy has it; with an
// instant local ack the write commits at once and that copy does not.
func TestLocalAckDelaysTheCommit(t *testing.T) {
	ms := time.Millisecond
	cfg := Config{Quorum: Quorum{N: 3, R: 1, W: 1}, Nodes: 3, Trials: 1000, Seed: 5,
		Legs:   Legs{W: Constant(2 * ms), A: Constant(0), R: Constant(ms), S: Constant(ms)},
		Deltas: []time.Duration{0}}
	for _, tc := range []struct {
		local Distribution
		want  float64
	}{{nil, 0}, {Constant(10 * ms), 1}} {
		cfg.LocalAck = tc.local
		p, err := Predict(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c := p.Points[0].Consistent; c != tc.want {
			t.Errorf("LocalAck %v, seed %d: P(consistent at 0) = %v, want %v", tc.local, cfg.Seed, c, tc.want)
		}
	}
}
