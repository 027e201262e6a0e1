package antientropy

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/chorusdb/chorus/vclock"
)

func BenchmarkUpdate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 0))
	tr := mustNew(b, DefaultConfig())
	const n = 1024
	keys := make([][]byte, n)
	sets := make([]vclock.Set, n+1)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "bench-key-%d", i)
	}
	for i := range sets {
		sets[i] = randSet(rng)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j := i % n
		tr.Update(keys[j], sets[j], sets[j+1])
		i++
	}
}

func BenchmarkCompare(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 0))
	local := mustNew(b, DefaultConfig())
	for i := range 100_000 {
		local.Add(fmt.Appendf(nil, "k%d", i), randSet(rng))
	}
	for _, k := range []int{1, 10, 100} {
		remote := local.Clone()
		for i := range k {
			remote.Add(fmt.Appendf(nil, "new%d", i), randSet(rng))
		}
		fb, fs := fetchers(remote)
		b.Run(fmt.Sprint("diverged=", k), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := Compare(local, remote.Root(), fb, fs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
