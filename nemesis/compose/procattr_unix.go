//go:build unix

package compose

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts a command in a process group of its own: the Ctrl-C a
// terminal sends to its foreground group cancels the run through its
// context, and must not also kill the docker-compose down that tears the
// cluster down.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// cancelGroup kills cmd's whole process group when its context ends, so
// that no child of a cancelled docker-compose up goes on making
// containers while the teardown runs.
func cancelGroup(cmd *exec.Cmd) func() error {
	return func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
