package compose

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Runner runs the command name with args and env added to this process's
// environment, and returns its standard output. An error says what ran
// and carries the standard error.
type Runner func(ctx context.Context, env []string, name string, args ...string) ([]byte, error)

// Exec runs commands for real, each in a process group of its own.
func Exec(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = cancelGroup(cmd)
	// A child that outlives the kill and holds the output pipes must
	// not hold up the caller.
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		err = fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		if msg := lastLines(stderr.String(), 5); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return stdout.Bytes(), err
	}
	return stdout.Bytes(), nil
}

// lastLines returns the last n non-empty lines of s, joined by " | ":
// docker-compose prints progress before the line that says what failed.
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
