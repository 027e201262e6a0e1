package procstat

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseStatCaptured parses /proc/<pid>/stat as captured from a
// running containerd (8 threads, 93 ticks of user and 63 of system time)
// and from kthreadd.
func TestParseStatCaptured(t *testing.T) {
	tests := []struct {
		file string
		want Stat
	}{
		{"stat-containerd.txt", Stat{PID: 1457, Comm: "containerd", State: 'S', UTime: 930 * time.Millisecond, STime: 630 * time.Millisecond, Threads: 8}},
		{"stat-kthreadd.txt", Stat{PID: 2, Comm: "kthreadd", State: 'S', Threads: 1}},
	}
	for _, tt := range tests {
		got, err := ParseStat(readTestdata(t, tt.file))
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.file, got, tt.want)
		}
	}
	s, _ := ParseStat(readTestdata(t, "stat-containerd.txt"))
	if got, want := s.CPU(), 1560*time.Millisecond; got != want {
		t.Errorf("CPU() = %v, want %v", got, want)
	}
}

// statLine is a stat line of a process named comm with the given utime,
// stime and thread count, the other fields as a sleeping process has them.
func statLine(comm, utime, stime, threads string) string {
	return "4242 (" + comm + ") S 1 4242 4242 0 -1 4194304 135 0 0 0 " + utime + " " + stime +
		" 0 0 20 0 " + threads + " 0 44482 2990080 392 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, text string
		want       Stat   // when wantErr is ""
		wantErr    string // a substring of the error
	}{
		{"a command with spaces and parentheses", statLine("a) b (c", "7", "3", "2"),
			Stat{PID: 4242, Comm: "a) b (c", State: 'S', UTime: 70 * time.Millisecond, STime: 30 * time.Millisecond, Threads: 2}, ""},
		{"an empty command", statLine("", "0", "0", "1"), Stat{PID: 4242, State: 'S', Threads: 1}, ""},
		{"empty", "", Stat{}, "no (command name)"},
		{"no closing parenthesis", "1 (x S 1 2 3", Stat{}, "no (command name)"},
		{"bad pid", strings.Replace(statLine("x", "1", "1", "1"), "4242", "-3", 1), Stat{}, "bad pid"},
		{"truncated", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 5 5", Stat{}, "fields after the command name"},
		{"negative utime", statLine("x", "-1", "1", "1"), Stat{}, "utime"},
		{"utime past a Duration", statLine("x", "18446744073709551615", "1", "1"), Stat{}, "utime"},
		{"stime not a number", statLine("x", "1", "1e3", "1"), Stat{}, "stime"},
		{"bad threads", statLine("x", "1", "1", "many"), Stat{}, "thread count"},
		{"two-letter state", strings.Replace(statLine("x", "1", "1", "1"), ") S ", ") SS ", 1), Stat{}, "bad state"},
	}
	for _, tt := range tests {
		got, err := ParseStat([]byte(tt.text))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: %+v, %v; want an error naming %q", tt.name, got, err, tt.wantErr)
		}
	}
}

func TestParseStatus(t *testing.T) {
	got, err := ParseStatus(readTestdata(t, "status-containerd.txt"))
	if want := (Status{RSS: 38624 * 1024, PeakRSS: 38644 * 1024}); err != nil || got != want {
		t.Errorf("containerd: %+v, %v; want %+v", got, err, want)
	}
	// A kernel thread has no memory of its own: no Vm lines.
	if got, err := ParseStatus(readTestdata(t, "status-kthreadd.txt")); err == nil {
		t.Errorf("kthreadd: %+v, want an error", got)
	}
	for name, text := range map[string]string{
		"VmHWM missing":    "VmRSS:\t 10 kB\nVmRSS:\t 10 kB\n",
		"VmRSS missing":    "VmHWM:\t 10 kB\n",
		"no unit":          "VmHWM:\t 10\nVmRSS:\t 10 kB\n",
		"other unit":       "VmHWM:\t 10 MB\nVmRSS:\t 10 kB\n",
		"negative":         "VmHWM:\t -10 kB\nVmRSS:\t 10 kB\n",
		"past int64 bytes": "VmHWM:\t 9223372036854775807 kB\nVmRSS:\t 10 kB\n",
	} {
		if got, err := ParseStatus([]byte(text)); err == nil {
			t.Errorf("%s: %+v, want an error", name, got)
		}
	}
	// Without a final newline, and with the lines in another order.
	if got, err := ParseStatus([]byte("Name:\tx\nVmHWM:\t2 kB\nVmRSS:\t1 kB")); err != nil || got != (Status{RSS: 1024, PeakRSS: 2048}) {
		t.Errorf("last line without newline: %+v, %v", got, err)
	}
}

// TestReadSelf reads this test's own process: on Linux its peak RSS is
// not below its RSS and it has threads; elsewhere every read says
// ErrUnsupported.
func TestReadSelf(t *testing.T) {
	pid := os.Getpid()
	st, errStat := ReadStat(pid)
	ss, errStatus := ReadStatus(pid)
	_, errCPU := CPU([]int{pid})
	_, errPeak := PeakRSS([]int{pid})
	if !Supported() {
		for _, err := range []error{errStat, errStatus, errCPU, errPeak} {
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("without /proc: %v, want ErrUnsupported", err)
			}
		}
		return
	}
	for _, err := range []error{errStat, errStatus, errCPU, errPeak} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st.PID != pid || st.Threads < 1 || ss.RSS <= 0 || ss.PeakRSS < ss.RSS {
		t.Errorf("own stat %+v and status %+v: want pid %d, threads, and 0 < RSS <= peak", st, ss, pid)
	}
}

// TestReadMissingProcess reads a process that cannot exist: an error,
// and not ErrUnsupported where /proc exists.
func TestReadMissingProcess(t *testing.T) {
	if !Supported() {
		t.Skip("no /proc")
	}
	_, err := ReadStat(1 << 30) // above pid_max's limit (4194304)
	if err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("ReadStat of a missing process: %v, want a not-found error", err)
	}
	if _, err := CPU([]int{os.Getpid(), 1 << 30}); err == nil {
		t.Error("CPU with a missing process succeeded")
	}
}
