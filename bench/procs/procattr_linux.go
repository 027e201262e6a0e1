package procs

import "syscall"

// sysProcAttr makes the kernel SIGKILL a node when the process that
// started it dies, however that ends. Strictly the signal follows the
// death of the OS thread that started the node; the Go runtime ends a
// thread only when a goroutine exits while locked to it, which this
// package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
