package storage

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/vclock"
)

// crashDirEnv switches the test binary into the crash child: it names the
// directory the child writes to. crashModeEnv picks the child's variant.
const (
	crashDirEnv  = "CHORUS_STORAGE_CRASH_DIR"
	crashModeEnv = "CHORUS_STORAGE_CRASH_MODE"
)

// TestCrashKeepsDurableWrites re-executes the test binary as a child that
// writes durably from several goroutines and prints each acknowledged key.
// The parent kills it with SIGKILL after a few hundred acks, reopens the
// directory and checks that every acknowledged write is there.
//
// SIGKILL kills the process, not the machine: the page cache survives, so
// this proves that acknowledgements follow the commit log write (nothing
// acked is still in a process buffer) and that recovery replays it. A
// power cut, which is what the sync itself is for, is simulated on an
// in-memory file system instead (TestCrashDropsUnsyncedBytes).
func TestCrashKeepsDurableWrites(t *testing.T) {
	runCrash(t, "TestCrashKeepsDurableWrites", "", 300)
}

// TestCrashWithCheckpoints is TestCrashKeepsDurableWrites with checkpoints
// every few milliseconds, 8 KiB values and the smallest memtable, so that
// the run crosses memtable rotations (checkpoints skipped) and retired
// log segments before the kill.
func TestCrashWithCheckpoints(t *testing.T) {
	runCrash(t, "TestCrashWithCheckpoints", "checkpoints", 2000)
}

func runCrash(t *testing.T, name, mode string, acksBeforeKill int) {
	before := firstIncarnation(time.Now())
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir, os.Getenv(crashModeEnv))
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashModeEnv+"="+mode)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks, stats := readAcks(out, cmd, acksBeforeKill, 20*time.Second)
	_ = cmd.Wait() // killed: the error is expected
	if len(acks) == 0 {
		t.Fatalf("child acknowledged nothing; stderr:\n%s", stderr.String())
	}

	db, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer db.Close()
	for _, key := range acks {
		s, err := db.Get(context.Background(), 5, []byte(key))
		if err != nil {
			t.Fatalf("acked key %s after crash: %v", key, err)
		}
		if got := dataOf(s); len(got) != 1 || !strings.HasPrefix(got[0], key) {
			t.Fatalf("acked key %s holds %d values", key, len(got))
		}
	}
	t.Logf("%d acknowledged writes survived SIGKILL; the child's last stats: %s", len(acks), stats)

	// The run ended without Close: a new incarnation, whose dots start
	// above every counter the crashed run may have sent elsewhere.
	// The child started the store empty: its first incarnation was the
	// time, in seconds, which went up by one at the crash.
	got := db.Incarnation()
	if got <= before || got > firstIncarnation(time.Now())+1 {
		t.Fatalf("incarnation after SIGKILL = %d, want one above the child's first, the time (%d before it started)", got, before)
	}
	s, _, err := db.Update(context.Background(), 5, []byte(acks[0]), vclock.Clock{}, "n1", val("after"), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, sib := range s.Siblings() {
		if sib.Dot.Node == "n1" && string(sib.Data) == "after" && sib.Dot.Counter <= got<<incarnationBits {
			t.Fatalf("dot minted after the crash %v is not above the incarnation floor", sib.Dot)
		}
	}
}

func TestIncarnationFloorStaysBelowMaxCounter(t *testing.T) {
	last := uint64(vclock.MaxCounter>>incarnationBits) - 1
	floor, err := incarnationFloor(last)
	if err != nil {
		t.Fatalf("incarnation %d: %v", last, err)
	}
	if top := floor + 1<<incarnationBits; top > vclock.MaxCounter || top < floor {
		t.Fatalf("incarnation %d mints up to %d, above MaxCounter", last, top)
	}
	if _, err := incarnationFloor(last + 1); err == nil {
		t.Fatalf("incarnation %d accepted: its dots would pass MaxCounter", last+1)
	}
}

func TestCleanCloseKeepsIncarnation(t *testing.T) {
	dir := t.TempDir()
	var first uint64
	for run := range 3 {
		db, err := Open(dir, Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = db.Incarnation()
		}
		if got := db.Incarnation(); got != first || got == 0 {
			t.Fatalf("run %d after clean closes: incarnation %d, want the first run's %d (not 0)", run, got, first)
		}
		if _, _, err := db.Update(context.Background(), 1, []byte("k"), vclock.Clock{}, "n1", val("v"), true); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// readAcks collects acknowledged keys from the child's stdout, kills the
// child after n acks or the timeout, and then reads what the pipe still
// holds: those writes were acknowledged too. It also returns the child's
// last "stats" line.
func readAcks(out io.Reader, cmd *exec.Cmd, n int, timeout time.Duration) (acks []string, stats string) {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(timeout)
	killed := false
	kill := func() {
		if !killed {
			_ = cmd.Process.Kill() // SIGKILL
			killed = true
		}
	}
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				kill()
				return acks, stats
			}
			if s, ok := strings.CutPrefix(line, "stats "); ok {
				stats = s
			}
			key, ok := strings.CutPrefix(line, "ack ")
			if !ok {
				continue
			}
			acks = append(acks, key)
			if len(acks) >= n {
				kill()
			}
		case <-deadline:
			kill()
		}
	}
}

// crashChild writes durably until killed: 8 goroutines, at most 500 keys
// each, half through Update and half through Merge, printing each key once
// it is acknowledged. It never closes the DB. In mode "checkpoints" the
// values are 8 KiB and checkpoints run every 2 ms.
func crashChild(dir, mode string) {
	opts := Options{Logger: quiet}
	pad := ""
	if mode == "checkpoints" {
		opts.CheckpointInterval = 2 * time.Millisecond
		opts.MemTableSize = minMemTableSize
		pad = strings.Repeat(".", 8<<10)
	}
	db, err := Open(dir, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	acked := 0
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				key := fmt.Sprintf("g%d-%04d", g, i)
				var err error
				if g%2 == 0 {
					_, _, err = db.Update(context.Background(), 5, []byte(key), vclock.Clock{}, "n1", val(key+pad), true)
				} else {
					_, _, err = db.Merge(context.Background(), 5, []byte(key), vclock.NewSet("n2", val(key+pad)), true)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, key, err)
					os.Exit(2)
				}
				mu.Lock()
				line := "ack " + key + "\n"
				if acked++; acked%100 == 0 {
					st := db.Stats()
					line += fmt.Sprintf("stats checkpoints=%d skipped=%d segments=%d\n",
						st.Checkpoints, st.CheckpointsSkipped, st.LogSegments)
				}
				os.Stdout.WriteString(line) // one write: lines never interleave
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// Wait to be killed; exit by ourselves only if the parent is gone.
	time.Sleep(30 * time.Second)
	os.Exit(3)
}

// TestWipedNodeMintsNewDots runs a node's store, wipes it (a new, empty
// store under the same node ID, a minute later), and writes the same key
// blind on the new one: its dot must be one the old store never minted,
// so that the other replicas, which hold the old store's versions, keep
// the new write when they merge it instead of taking it for one they had.
func TestWipedNodeMintsNewDots(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	open := func() *DB {
		db, err := Open(t.TempDir(), Options{Logger: quiet, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	old := open()
	var elsewhere vclock.Set // what another replica holds of the old store's writes
	for i := range 3 {
		s, _, err := old.Update(ctx, 1, []byte("k"), elsewhere.Context(), "n1", val(fmt.Sprintf("old-%d", i)), true)
		if err != nil {
			t.Fatal(err)
		}
		elsewhere = s
	}
	clk.Advance(time.Minute)
	wiped := open()
	if wiped.Incarnation() <= old.Incarnation() {
		t.Fatalf("the wiped store's incarnation %d is not above the old one's %d", wiped.Incarnation(), old.Incarnation())
	}
	fresh, _, err := wiped.Update(ctx, 1, []byte("k"), vclock.Clock{}, "n1", val("new"), true)
	if err != nil {
		t.Fatal(err)
	}
	merged := vclock.Sync(elsewhere, fresh)
	if got := dataOf(merged); !slices.Contains(got, "new") {
		t.Fatalf("the replica that merged the wiped node's write holds %v: the new write was taken for an old one", got)
	}
}
