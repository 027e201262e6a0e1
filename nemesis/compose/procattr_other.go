//go:build !unix

package compose

import "syscall"

// sysProcAttr has nothing to set without Unix process groups.
func sysProcAttr() *syscall.SysProcAttr { return nil }
