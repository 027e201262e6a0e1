package pbs

import (
	"fmt"
	"testing"
)

// BenchmarkPredict measures one Predict of 10000 trials over the default
// deltas and MaxK, per replication factor; ns/op divided by 10000 is the
// cost of a trial.
func BenchmarkPredict(b *testing.B) {
	for _, q := range []Quorum{{3, 1, 1}, {3, 2, 2}, {5, 2, 2}, {7, 1, 3}} {
		b.Run(fmt.Sprintf("N=%d/R=%d/W=%d", q.N, q.R, q.W), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Quorum = q
			cfg.Trials = 10000
			cfg.Gap = cfg.Legs.W
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Predict(cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
