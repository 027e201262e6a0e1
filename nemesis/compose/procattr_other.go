//go:build !unix

package compose

import (
	"os/exec"
	"syscall"
)

// sysProcAttr has nothing to set without Unix process groups.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// cancelGroup kills cmd's process when its context ends.
func cancelGroup(cmd *exec.Cmd) func() error {
	return func() error { return cmd.Process.Kill() }
}
