package commitlog

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/storage/vfs"
)

const dir = "log"

func small() Config { return Config{SegmentSize: minSegmentSize} }

func open(t *testing.T, fsys vfs.FS) *Log {
	t.Helper()
	l, err := Open(fsys, dir, small())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func replayAll(t *testing.T, l *Log) []string {
	t.Helper()
	var got []string
	if err := l.Replay(func(p []byte) error { got = append(got, string(p)); return nil }); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return got
}

func appendN(t *testing.T, l *Log, from, n int) []string {
	t.Helper()
	var recs []string
	var batch [][]byte
	for i := from; i < from+n; i++ {
		r := fmt.Sprintf("record-%04d-%s", i, strings.Repeat("x", i%50))
		recs = append(recs, r)
		batch = append(batch, []byte(r))
		if len(batch) == 3 || i == from+n-1 {
			if _, err := l.Append(batch...); err != nil {
				t.Fatalf("Append: %v", err)
			}
			batch = batch[:0]
		}
	}
	return recs
}

// Records come back in order across segments and reopenings.
func TestAppendReplayAcrossSegments(t *testing.T) {
	fsys := vfs.NewCrashableMem()
	l := open(t, fsys)
	want := appendN(t, l, 0, 300) // ~14 KiB: several 4 KiB segments
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := replayAll(t, l); !slices.Equal(got, want) {
		t.Fatalf("replay: %d records, want %d", len(got), len(want))
	}
	if n := l.Stats().Segments; n < 3 {
		t.Fatalf("%d segments, want several", n)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = open(t, fsys)
	want = append(want, appendN(t, l, 300, 10)...)
	if got := replayAll(t, l); !slices.Equal(got, want) {
		t.Fatalf("replay after reopen: %d records, want %d", len(got), len(want))
	}
	_ = l.Close()
}

// After a crash, replay returns a prefix of what was appended that holds
// at least everything synced; the reopened log keeps working.
func TestCrashKeepsSyncedPrefix(t *testing.T) {
	seed := chorustest.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	for round := range 20 {
		fsys := vfs.NewCrashableMem()
		l := open(t, fsys)
		var all []string
		synced := 0
		for i := range 100 + rng.IntN(200) {
			all = append(all, appendN(t, l, i, 1)...)
			if rng.IntN(10) == 0 {
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
				synced = len(all)
			}
			if rng.IntN(40) == 0 {
				if _, err := l.Rotate(); err != nil {
					t.Fatal(err)
				}
				synced = len(all)
			}
		}
		crashed := fsys.Crash()
		l2 := open(t, crashed)
		got := replayAll(t, l2)
		if len(got) < synced || !slices.Equal(got, all[:len(got)]) {
			t.Fatalf("seed %d round %d: replayed %d records, synced %d of %d, or not a prefix", seed, round, len(got), synced, len(all))
		}
		more := appendN(t, l2, 1000, 5)
		_ = l2.Sync()
		l3 := open(t, crashed.Crash())
		if got2 := replayAll(t, l3); !slices.Equal(got2, append(got, more...)) {
			t.Fatalf("seed %d round %d: after a second crash %d records, want %d", seed, round, len(got2), len(got)+5)
		}
		_ = l.Close()
	}
}

func segFile(t *testing.T, fsys vfs.FS, seq uint64) vfs.File {
	t.Helper()
	f, err := fsys.Open(filepath.Join(dir, segName(seq)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// A torn tail of the last segment is cut at Open and the log goes on.
func TestTornTail(t *testing.T) {
	fsys := vfs.NewCrashableMem()
	l := open(t, fsys)
	want := appendN(t, l, 0, 10)
	pos, err := l.Append([]byte("torn record"))
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Sync()
	// Damage the last record: its last byte.
	if _, err := segFile(t, fsys, pos.Seq).WriteAt([]byte{'!'}, pos.Offset-1); err != nil {
		t.Fatal(err)
	}
	l = open(t, fsys)
	if got := replayAll(t, l); !slices.Equal(got, want) {
		t.Fatalf("replay after a torn tail = %d records, want %d", len(got), len(want))
	}
	want = append(want, appendN(t, l, 10, 3)...)
	_ = l.Sync()
	l = open(t, fsys)
	if got := replayAll(t, l); !slices.Equal(got, want) {
		t.Fatalf("replay after appending past the cut = %q, want %q", got, want)
	}
}

// A bad record in a segment that is not the last is corruption, reported
// with the file and offset.
func TestCorruptRecordMidLog(t *testing.T) {
	fsys := vfs.NewCrashableMem()
	l := open(t, fsys)
	appendN(t, l, 0, 10)
	if _, err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 10, 10)
	_ = l.Sync()
	first := l.Stats().Segments - 1 // the segment before the current one
	seqs := l.segs
	if _, err := segFile(t, fsys, seqs[first-1]).WriteAt([]byte{0xff}, HeaderLen+30); err != nil {
		t.Fatal(err)
	}
	err := l.Replay(func([]byte) error { return nil })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), segName(seqs[first-1])) ||
		!strings.Contains(err.Error(), "offset") {
		t.Fatalf("Replay = %v, want ErrCorrupt naming the file and offset", err)
	}
}

// A segment of another format version is refused with a clear error.
func TestOtherVersion(t *testing.T) {
	fsys := vfs.NewCrashableMem()
	l := open(t, fsys)
	appendN(t, l, 0, 3)
	_ = l.Sync()
	seq := l.segs[len(l.segs)-1]
	_ = l.Close()
	h := appendHeader(nil, seq)
	h[8] = 2 // version 2, little-endian
	fixCRC(h)
	if _, err := segFile(t, fsys, seq).WriteAt(h, 0); err != nil {
		t.Fatal(err)
	}
	_, err := Open(fsys, dir, small())
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("Open = %v, want ErrVersion naming version 2", err)
	}
}

func fixCRC(h []byte) {
	c := appendRecord(nil, h[:20])[4:8] // CRC-32C of the first 20 bytes
	copy(h[20:24], c)
}

// RetireBefore drops whole segments, oldest first, never the current one.
func TestRetireBefore(t *testing.T) {
	fsys := vfs.NewCrashableMem()
	l := open(t, fsys)
	appendN(t, l, 0, 50)
	p, err := l.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	want := appendN(t, l, 50, 5)
	_ = l.Sync()
	if err := l.RetireBefore(p); err != nil {
		t.Fatal(err)
	}
	if got := replayAll(t, l); !slices.Equal(got, want) {
		t.Fatalf("after retiring = %q, want %q", got, want)
	}
	if got := replayAll(t, open(t, fsys.Crash())); !slices.Equal(got, want) {
		t.Fatalf("after retiring and a crash = %q, want %q", got, want)
	}
	if err := l.RetireBefore(Position{Seq: 1 << 40}); err != nil || l.Stats().Segments != 1 {
		t.Fatalf("retiring everything: %v, %d segments left", err, l.Stats().Segments)
	}
}

// A failed append appends nothing and the log goes on; a failed sync
// fails the log for good.
func TestFaults(t *testing.T) {
	mem := vfs.NewCrashableMem()
	fsys := vfs.Inject(mem, nil)
	l := open(t, fsys)
	want := appendN(t, l, 0, 5)
	fsys.SetInjector(vfs.InjectorFunc(func(op vfs.Op, _ string) error {
		if op == vfs.OpWrite {
			return syscall.ENOSPC
		}
		return nil
	}))
	if _, err := l.Append([]byte("no space")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append = %v, want ENOSPC", err)
	}
	fsys.SetInjector(nil)
	want = append(want, appendN(t, l, 5, 5)...)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := replayAll(t, open(t, mem.Crash())); !slices.Equal(got, want) {
		t.Fatalf("after a failed append = %q, want %q", got, want)
	}

	fsys.SetInjector(vfs.FailNth(vfs.OpSync, 1, vfs.ErrInjected))
	appendN(t, l, 10, 1)
	if err := l.Sync(); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Sync = %v, want the injected error", err)
	}
	if _, err := l.Append([]byte("later")); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Append after a failed sync = %v, want the sync's error", err)
	}
	if err := l.Sync(); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Sync after a failed sync = %v, want the sync's error", err)
	}
	_ = l.Close()
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{SegmentSize: 100}).Validate(); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("tiny segments: %v", err)
	}
	if _, err := Open(vfs.NewCrashableMem(), dir, Config{SegmentSize: -1}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("Open with a bad config: %v", err)
	}
}

// Covers answers whether a sync or a rotation has made a position
// durable, and a crash keeps everything before a covered position.
func TestCovers(t *testing.T) {
	fsys := vfs.NewCrashableMem()
	l := open(t, fsys)
	first, err := l.Append([]byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Covers(first) {
		t.Fatal("Covers before any sync")
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	second, err := l.Append([]byte("two"))
	if err != nil {
		t.Fatal(err)
	}
	if !l.Covers(first) || l.Covers(second) {
		t.Fatalf("after a sync of the first append: Covers(first) %v, Covers(second) %v, want true, false",
			l.Covers(first), l.Covers(second))
	}
	if got := replayAll(t, open(t, fsys.Crash())); !slices.Equal(got, []string{"one"}) {
		t.Fatalf("after a crash = %q, want [one]", got)
	}
	if _, err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	if !l.Covers(second) {
		t.Fatal("a rotation syncs the segment it ends, but Covers(second) is false")
	}
}
