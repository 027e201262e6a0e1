package etcdtarget

import "syscall"

// sysProcAttr makes the kernel SIGKILL a member when the process that
// started it dies, so that a crashed or killed test or benchmark leaves no
// etcd behind. Strictly the signal follows the death of the OS thread that
// started the member; the Go runtime ends a thread only when a goroutine
// exits while locked to it (runtime.LockOSThread), which this package
// never does and Go programs rarely do.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
