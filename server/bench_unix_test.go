//go:build unix

package server_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) this process has used,
// so that a benchmark can report it per operation: on a shared machine it
// varies far less than elapsed time.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
