package vfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

func mustWrite(t *testing.T, f File, off int64, s string) {
	t.Helper()
	if n, err := f.WriteAt([]byte(s), off); err != nil || n != len(s) {
		t.Fatalf("WriteAt(%q, %d) = %d, %v", s, off, n, err)
	}
}

func contents(t *testing.T, fsys FS, name string) string {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return string(b)
}

// Both file systems behave alike for the operations the log uses.
func TestFSBasics(t *testing.T) {
	for name, fsys := range map[string]FS{"os": Default, "mem": NewCrashableMem()} {
		t.Run(name, func(t *testing.T) {
			dir := "d/sub"
			if name == "os" {
				dir = filepath.Join(t.TempDir(), dir)
			}
			if err := fsys.MkdirAll(dir); err != nil {
				t.Fatal(err)
			}
			a := filepath.Join(dir, "a")
			f, err := fsys.Create(a)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fsys.Create(a); !errors.Is(err, fs.ErrExist) {
				t.Fatalf("second Create: %v, want ErrExist", err)
			}
			mustWrite(t, f, 0, "hello")
			mustWrite(t, f, 3, "LO!")
			if err := f.Truncate(10); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if got := contents(t, fsys, a); got != "helLO!\x00\x00\x00\x00" {
				t.Fatalf("contents %q", got)
			}
			b := filepath.Join(dir, "b")
			if err := fsys.Rename(a, b); err != nil {
				t.Fatal(err)
			}
			if err := fsys.SyncDir(dir); err != nil {
				t.Fatal(err)
			}
			if names, err := fsys.List(dir); err != nil || !slices.Equal(names, []string{"b"}) {
				t.Fatalf("List = %v, %v", names, err)
			}
			if err := fsys.Remove(b); err != nil {
				t.Fatal(err)
			}
			if _, err := fsys.Open(b); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Open after Remove: %v", err)
			}
		})
	}
}

// A crash keeps synced bytes and synced directory entries only.
func TestCrashKeepsOnlySynced(t *testing.T) {
	m := NewCrashableMem()
	if err := m.MkdirAll("log"); err != nil {
		t.Fatal(err)
	}
	kept, _ := m.Create("log/kept")
	mustWrite(t, kept, 0, "synced")
	if err := kept.Sync(); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, kept, 6, "+lost")
	if err := kept.Truncate(64); err != nil { // preallocation after the sync: not kept
		t.Fatal(err)
	}
	gone, _ := m.Create("log/gone")
	if err := gone.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir("log"); err != nil {
		t.Fatal(err)
	}
	unsyncedEntry, _ := m.Create("log/new") // its directory is never synced again
	mustWrite(t, unsyncedEntry, 0, "x")
	_ = unsyncedEntry.Sync()
	if err := m.Remove("log/gone"); err != nil { // removal not synced: comes back
		t.Fatal(err)
	}

	c := m.Crash()
	if got := contents(t, c, "log/kept"); got != "synced" {
		t.Errorf("kept after crash = %q, want %q", got, "synced")
	}
	names, _ := c.List("log")
	if !slices.Equal(names, []string{"gone", "kept"}) {
		t.Errorf("entries after crash = %v, want [gone kept]", names)
	}
	// The crashed copy is independent of the running one.
	mustWrite(t, kept, 0, "SYNCED")
	_ = kept.Sync()
	if got := contents(t, c, "log/kept"); got != "synced" {
		t.Errorf("crash copy changed by the old FS: %q", got)
	}
}

// Growing, cutting and growing again syncs zeros where the cut bytes were.
func TestMemTruncateThenSync(t *testing.T) {
	m := NewCrashableMem()
	f, _ := m.Create("f")
	mustWrite(t, f, 0, "abcdef")
	_ = f.Sync()
	_ = m.SyncDir(".")
	_ = f.Truncate(2)
	_ = f.Truncate(4)
	_ = f.Sync()
	if got := contents(t, m.Crash(), "f"); got != "ab\x00\x00" {
		t.Fatalf("after crash %q", got)
	}
}

func TestInject(t *testing.T) {
	m := NewCrashableMem()
	inj := Inject(m, FailNth(OpSync, 2, ErrInjected))
	f, err := inj.Create("f")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, 0, "one")
	if err := f.Sync(); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	mustWrite(t, f, 3, "two")
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("second sync: %v, want ErrInjected", err)
	}
	_ = m.SyncDir(".")
	if got := contents(t, m.Crash(), "f"); got != "one" {
		t.Fatalf("a failed sync synced something: %q", got)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("third sync: %v", err)
	}
	inj.SetInjector(InjectorFunc(func(op Op, _ string) error {
		if op == OpWrite {
			return syscall.ENOSPC
		}
		return nil
	}))
	if _, err := f.WriteAt([]byte("three"), 6); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write: %v, want ENOSPC", err)
	}
	if got := contents(t, m, "f"); !bytes.Equal([]byte(got), []byte("onetwo")) {
		t.Fatalf("a refused write wrote: %q", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
