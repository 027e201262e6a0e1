package procstat

import (
	"os"
	"path/filepath"
	"testing"
)

// addCaptured seeds f with the captured files whose names start with
// prefix.
func addCaptured(f *testing.F, prefix string) {
	names, _ := filepath.Glob(filepath.Join("testdata", prefix+"*"))
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
}

// FuzzParseStat: no input panics, and what parses is in range.
func FuzzParseStat(f *testing.F) {
	addCaptured(f, "stat-")
	f.Add([]byte(statLine("a) b (c", "7", "3", "2")))
	f.Add([]byte("1 (x) S"))
	f.Add([]byte(")("))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStat(b)
		if err != nil {
			return
		}
		if s.PID < 0 || s.UTime < 0 || s.STime < 0 || s.CPU() < 0 || s.Threads < 0 {
			t.Errorf("ParseStat(%q) = %+v: a negative value", b, s)
		}
	})
}

// FuzzParseStatus: no input panics, and what parses is not negative.
func FuzzParseStatus(f *testing.F) {
	addCaptured(f, "status-")
	f.Add([]byte("VmHWM:\t2 kB\nVmRSS:\t1 kB"))
	f.Add([]byte("VmHWM:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStatus(b)
		if err == nil && (s.RSS < 0 || s.PeakRSS < 0) {
			t.Errorf("ParseStatus(%q) = %+v: a negative size", b, s)
		}
	})
}
