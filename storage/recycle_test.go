package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/chorusdb/chorus/storage/vfs"
	"github.com/chorusdb/chorus/vclock"
)

// TestRecycledRequestsKeepTheirAnswers mixes durable early writes (whose
// requests are recycled once their sync is read), writes whose caller gives
// up while they are queued (whose requests must not be recycled) and
// writes refused before they are queued, on a store with a commit log, and
// checks that every caller got its own answer: each acknowledged write is
// the key's value afterwards, and no write its caller saw fail is there.
func TestRecycledRequestsKeepTheirAnswers(t *testing.T) {
	const goroutines, rounds = 16, 150
	db := openMem(t, memLogOptions(vfs.NewCrashableMem()))
	var wg sync.WaitGroup
	for g := range goroutines {
		seed := uint64(g) + 1
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, 15))
			key := fmt.Appendf(nil, "key-%d", g)
			var last vclock.Set
			var failed []string
			for i := range rounds {
				data := fmt.Sprintf("g%d-%d", g, i)
				ctx, cancel := context.WithCancel(context.Background())
				switch rng.IntN(4) {
				case 0:
					cancel() // refused before it is queued
				case 1:
					go cancel() // may be abandoned while queued, or not
				}
				set, wait, err := db.UpdateAsync(ctx, 0, key, last.Context(), "n1", val(data), true)
				if err == nil {
					err = wait()
					if again := wait(); again != err {
						t.Errorf("seed %d: wait answered %v, then %v", seed, err, again)
					}
				}
				cancel()
				if err != nil {
					failed = append(failed, data)
					continue
				}
				if got := dataOf(set); !slices.Equal(got, []string{data}) {
					t.Errorf("seed %d round %d: update answered %q, want [%s]", seed, i, got, data)
					return
				}
				last = set
			}
			final, err := db.Get(context.Background(), 0, key)
			if err != nil {
				t.Errorf("seed %d: Get: %v", seed, err)
				return
			}
			got := dataOf(final)
			if want := dataOf(last); !slices.Equal(got, want) {
				t.Errorf("seed %d: key holds %q, want %q (writes seen failing: %q)", seed, got, want, failed)
			}
		})
	}
	wg.Wait()
}
