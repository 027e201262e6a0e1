//go:build !linux

package etcdtarget

import "syscall"

// sysProcAttr has nothing to set outside Linux, which alone has
// Pdeathsig: there only Close stops the members.
func sysProcAttr() *syscall.SysProcAttr { return nil }
