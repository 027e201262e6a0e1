package storage

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/chorusdb/chorus/vclock"
)

// BenchmarkWrite measures the write path on disk (never InMemory) with 1,
// 16 and 64 concurrent callers, 100 B and 1 KiB values, and compares it
// with raw badger driven by the same harness: one db.Update per op, with
// SyncWrites on and off. Each op writes a new 16-byte key. Reported:
// ops/s, p50 and p99 latency in µs, and for our DB the writes per sync.
//
//	go test -run xxx -bench Write -benchtime 2s ./storage/
func BenchmarkWrite(b *testing.B) {
	for _, m := range benchModes {
		for _, size := range []int{100, 1024} {
			for _, callers := range []int{1, 16, 64} {
				name := fmt.Sprintf("%s/%dB/callers=%d", m.name, size, callers)
				b.Run(name, func(b *testing.B) { runMode(b, m, size, callers) })
			}
		}
	}
}

// benchMode opens a store in dir and returns a write op and a closer.
type benchMode struct {
	name string
	open func(b *testing.B, dir string) (op func(key, value []byte) error, stats func() *Stats, close func())
}

var benchModes = []benchMode{
	{"storage/update/durable", openStorage(func(db *DB, k, v []byte) error {
		_, _, err := db.Update(context.Background(), partOf(k), k, vclock.Clock{}, "n1", vclock.Value{Data: v}, true)
		return err
	})},
	{"storage/update/nosync", openStorage(func(db *DB, k, v []byte) error {
		_, _, err := db.Update(context.Background(), partOf(k), k, vclock.Clock{}, "n1", vclock.Value{Data: v}, false)
		return err
	})},
	{"storage/merge/durable", openStorage(func(db *DB, k, v []byte) error {
		_, _, err := db.Merge(context.Background(), partOf(k), k, vclock.NewSet("n2", vclock.Value{Data: v}), true)
		return err
	})},
	{"badger/update/sync", openBadger(true)},
	{"badger/update/nosync", openBadger(false)},
}

// BenchmarkDurableUpdate compares durable Updates on disk with the
// commit log (one fdatasync of the log per group of batches, overlapping
// the next batch's apply) and without it (badger's DB.Sync, an msync of
// the memtable WAL, once per batch), at 1, 16 and 64 callers:
//
//	go test -run xxx -bench DurableUpdate -benchtime 2s ./storage/
func BenchmarkDurableUpdate(b *testing.B) {
	update := func(db *DB, k, v []byte) error {
		_, _, err := db.Update(context.Background(), partOf(k), k, vclock.Clock{}, "n1", vclock.Value{Data: v}, true)
		return err
	}
	modes := []benchMode{
		{"engine-sync", openStorageWith(Options{engineSync: true}, update)},
		{"commit-log", openStorageWith(Options{}, update)},
	}
	for _, callers := range []int{1, 16, 64} {
		for _, m := range modes {
			b.Run(fmt.Sprintf("callers=%d/%s", callers, m.name), func(b *testing.B) { runMode(b, m, 100, callers) })
		}
	}
}

func partOf(k []byte) uint32 { return uint32(k[len(k)-1]) }

func openStorage(write func(db *DB, k, v []byte) error) func(*testing.B, string) (func(k, v []byte) error, func() *Stats, func()) {
	return openStorageWith(Options{}, write)
}

func openStorageWith(opts Options, write func(db *DB, k, v []byte) error) func(*testing.B, string) (func(k, v []byte) error, func() *Stats, func()) {
	return func(b *testing.B, dir string) (func(k, v []byte) error, func() *Stats, func()) {
		opts.Logger = quiet
		db, err := Open(dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		op := func(k, v []byte) error { return write(db, k, v) }
		stats := func() *Stats { s := db.Stats(); return &s }
		return op, stats, func() { db.Close() }
	}
}

func openBadger(sync bool) func(*testing.B, string) (func(k, v []byte) error, func() *Stats, func()) {
	return func(b *testing.B, dir string) (func(k, v []byte) error, func() *Stats, func()) {
		bdb, err := badger.Open(badger.DefaultOptions(dir).WithSyncWrites(sync).WithLogger(nil))
		if err != nil {
			b.Fatal(err)
		}
		op := func(k, v []byte) error {
			return bdb.Update(func(txn *badger.Txn) error { return txn.Set(k, v) })
		}
		return op, func() *Stats { return nil }, func() { bdb.Close() }
	}
}

// runMode runs b.N writes spread over callers goroutines against a fresh
// store and reports throughput and latency percentiles.
func runMode(b *testing.B, m benchMode, size, callers int) {
	op, stats, closeFn := m.open(b, b.TempDir())
	defer closeFn()
	value := make([]byte, size)
	for i := range value {
		value[i] = byte(i)
	}
	var next atomic.Int64
	lats := make([][]time.Duration, callers)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := range callers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				key := fmt.Appendf(nil, "%08x%08x", c, i) // 16 bytes, unique
				t0 := time.Now()
				if err := op(key, value); err != nil {
					b.Error(err)
					return
				}
				lats[c] = append(lats[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	reportLatency(b, lats, elapsed)
	if s := stats(); s != nil && s.Syncs > 0 {
		b.ReportMetric(float64(s.Writes)/float64(s.Syncs), "writes/sync")
	}
}

func reportLatency(b *testing.B, lats [][]time.Duration, elapsed time.Duration) {
	all := slices.Concat(lats...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[int(p*float64(len(all)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "ops/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
