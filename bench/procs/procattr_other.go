//go:build !linux

package procs

import "syscall"

// sysProcAttr has nothing to set outside Linux, which alone has
// Pdeathsig: there only Close stops the nodes.
func sysProcAttr() *syscall.SysProcAttr { return nil }
