//go:build unix

package compose

import "syscall"

// sysProcAttr puts a command in a process group of its own: the Ctrl-C a
// terminal sends to its foreground group cancels the run through its
// context, and must not also kill the docker-compose down that tears the
// cluster down.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
