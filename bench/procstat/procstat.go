package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"time"
)

// ErrUnsupported is wrapped by the errors of the Read functions on a
// system without /proc.
var ErrUnsupported = errors.New("procstat: no /proc on this system")

// UserHZ is the number of clock ticks per second in which /proc reports
// CPU times (USER_HZ, what getconf CLK_TCK prints). The kernel fixes it at
// 100 on every architecture Go runs Linux on, whatever its internal HZ,
// so that /proc's format does not depend on the kernel's configuration.
const UserHZ = 100

// tick is the duration of one USER_HZ tick.
const tick = time.Second / UserHZ

// Stat is the part of /proc/<pid>/stat the benchmarks use.
type Stat struct {
	// PID is the process id and Comm its command name (at most 15 bytes,
	// any bytes but NUL: spaces and parentheses included).
	PID  int
	Comm string
	// State is the one-letter state: R running, S sleeping, Z zombie, ...
	State byte
	// UTime and STime are the CPU time the process has spent in user and
	// in kernel mode, all its threads together, in steps of 10 ms.
	UTime, STime time.Duration
	// Threads is the number of threads.
	Threads int
}

// CPU returns the CPU time the process has used, user and kernel.
func (s Stat) CPU() time.Duration { return s.UTime + s.STime }

// Fields of /proc/<pid>/stat after the command name, counted from the
// state (field 3 in proc(5)) as 0.
const (
	statState   = 0  // field 3
	statUTime   = 11 // field 14
	statSTime   = 12 // field 15
	statThreads = 17 // field 20
)

// ParseStat parses the text of /proc/<pid>/stat. The command name is
// delimited by the first "(" and the last ")", since it may itself hold
// spaces and parentheses.
func ParseStat(b []byte) (Stat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return Stat{}, errors.New("procstat: stat: no (command name)")
	}
	var s Stat
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil || pid < 0 {
		return Stat{}, fmt.Errorf("procstat: stat: bad pid %q", b[:open])
	}
	s.PID, s.Comm = pid, string(b[open+1:end])
	f := bytes.Fields(b[end+1:])
	if len(f) <= statThreads {
		return Stat{}, fmt.Errorf("procstat: stat: %d fields after the command name, want at least %d", len(f), statThreads+1)
	}
	if len(f[statState]) != 1 {
		return Stat{}, fmt.Errorf("procstat: stat: bad state %q", f[statState])
	}
	s.State = f[statState][0]
	if s.UTime, err = ticks(f[statUTime]); err != nil {
		return Stat{}, fmt.Errorf("procstat: stat: utime: %w", err)
	}
	if s.STime, err = ticks(f[statSTime]); err != nil {
		return Stat{}, fmt.Errorf("procstat: stat: stime: %w", err)
	}
	if s.Threads, err = strconv.Atoi(string(f[statThreads])); err != nil || s.Threads < 0 {
		return Stat{}, fmt.Errorf("procstat: stat: bad thread count %q", f[statThreads])
	}
	return s, nil
}

// maxTicks keeps UTime + STime within a time.Duration.
const maxTicks = math.MaxInt64 / 2 / int64(tick)

// ticks parses a count of USER_HZ ticks.
func ticks(b []byte) (time.Duration, error) {
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || n > uint64(maxTicks) {
		return 0, fmt.Errorf("bad tick count %q", b)
	}
	return time.Duration(n) * tick, nil
}

// Status is the part of /proc/<pid>/status the benchmarks use.
type Status struct {
	// RSS is the resident set size (VmRSS) and PeakRSS its high-water
	// mark since the process started (VmHWM), in bytes.
	RSS, PeakRSS int64
}

// ParseStatus parses the text of /proc/<pid>/status. It fails when
// VmRSS or VmHWM is missing, as for a zombie or a kernel thread, which
// have no memory of their own.
func ParseStatus(b []byte) (Status, error) {
	var s Status
	var rss, hwm bool
	for line := range bytes.Lines(b) {
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		var into *int64
		switch string(key) {
		case "VmRSS":
			into, rss = &s.RSS, true
		case "VmHWM":
			into, hwm = &s.PeakRSS, true
		default:
			continue
		}
		n, err := kiB(val)
		if err != nil {
			return Status{}, fmt.Errorf("procstat: status: %s: %w", key, err)
		}
		*into = n
	}
	if !rss || !hwm {
		return Status{}, errors.New("procstat: status: no VmRSS and VmHWM (a zombie or a kernel thread?)")
	}
	return s, nil
}

// kiB parses "   1960 kB" into bytes.
func kiB(b []byte) (int64, error) {
	f := bytes.Fields(b)
	if len(f) != 2 || string(f[1]) != "kB" {
		return 0, fmt.Errorf("%q is not a size in kB", bytes.TrimSpace(b))
	}
	n, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/1024 {
		return 0, fmt.Errorf("bad size %q", f[0])
	}
	return n * 1024, nil
}

// ReadStat reads and parses /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := read(pid, "stat")
	if err != nil {
		return Stat{}, err
	}
	return ParseStat(b)
}

// ReadStatus reads and parses /proc/<pid>/status.
func ReadStatus(pid int) (Status, error) {
	b, err := read(pid, "status")
	if err != nil {
		return Status{}, err
	}
	return ParseStatus(b)
}

// Supported reports whether this system has /proc (Linux's).
func Supported() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// read returns the content of /proc/<pid>/<name>. A missing file is
// ErrUnsupported when there is no /proc at all, and a process that does
// not exist (fs.ErrNotExist) otherwise.
func read(pid int, name string) ([]byte, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + name)
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, fs.ErrNotExist) && !Supported():
		return nil, fmt.Errorf("%w (reading %s of process %d)", ErrUnsupported, name, pid)
	default:
		return nil, fmt.Errorf("procstat: process %d: %w", pid, err)
	}
}

// CPU returns the CPU time the processes pids have used, summed: the
// server CPU of a cluster whose nodes they are.
func CPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pids {
		s, err := ReadStat(pid)
		if err != nil {
			return 0, err
		}
		sum += s.CPU()
	}
	return sum, nil
}

// PeakRSS returns the peak resident set (VmHWM, in bytes) of each of the
// processes pids, in their order.
func PeakRSS(pids []int) ([]int64, error) {
	peaks := make([]int64, 0, len(pids))
	for _, pid := range pids {
		s, err := ReadStatus(pid)
		if err != nil {
			return nil, err
		}
		peaks = append(peaks, s.PeakRSS)
	}
	return peaks, nil
}
