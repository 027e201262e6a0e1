package storage

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

// crashDirEnv switches the test binary into the crash child: it names the
// directory the child writes to.
const crashDirEnv = "CHORUS_STORAGE_CRASH_DIR"

// TestCrashKeepsDurableWrites re-executes the test binary as a child that
// writes durably from several goroutines and prints each acknowledged key.
// The parent kills it with SIGKILL after a few hundred acks, reopens the
// directory and checks that every acknowledged write is there.
//
// SIGKILL kills the process, not the machine: the page cache survives, so
// this proves that acknowledgements follow the commit (nothing acked is
// still in a process buffer) and that recovery replays it. A power cut,
// which is what the sync itself is for, cannot be simulated here.
func TestCrashKeepsDurableWrites(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsDurableWrites$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks := readAcks(out, cmd, 300, 10*time.Second)
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
		if got := dataOf(s); len(got) != 1 || got[0] != key {
			t.Fatalf("acked key %s holds %v", key, got)
		}
	}
	t.Logf("%d acknowledged writes survived SIGKILL", len(acks))

	// The run ended without Close: a new incarnation, whose dots start
	// above every counter the crashed run may have sent elsewhere.
	if got := db.Incarnation(); got != 1 {
		t.Fatalf("incarnation after SIGKILL = %d, want 1", got)
	}
	s, _, err := db.Update(context.Background(), 5, []byte(acks[0]), vclock.Clock{}, "n1", val("after"), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, sib := range s.Siblings() {
		if sib.Dot.Node == "n1" && string(sib.Data) == "after" && sib.Dot.Counter <= 1<<32 {
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
	for run := range 3 {
		db, err := Open(dir, Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if got := db.Incarnation(); got != 0 {
			t.Fatalf("run %d after clean closes: incarnation %d, want 0", run, got)
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
// holds: those writes were acknowledged too.
func readAcks(out io.Reader, cmd *exec.Cmd, n int, timeout time.Duration) []string {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if key, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				lines <- key
			}
		}
	}()
	var acks []string
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
		case key, ok := <-lines:
			if !ok {
				kill()
				return acks
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
// it is acknowledged. It never closes the DB.
func crashChild(dir string) {
	db, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				key := fmt.Sprintf("g%d-%04d", g, i)
				var err error
				if g%2 == 0 {
					_, _, err = db.Update(context.Background(), 5, []byte(key), vclock.Clock{}, "n1", val(key), true)
				} else {
					_, _, err = db.Merge(context.Background(), 5, []byte(key), vclock.NewSet("n2", val(key)), true)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, key, err)
					os.Exit(2)
				}
				mu.Lock()
				os.Stdout.WriteString("ack " + key + "\n") // one write: lines never interleave
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// Wait to be killed; exit by ourselves only if the parent is gone.
	time.Sleep(30 * time.Second)
	os.Exit(3)
}
