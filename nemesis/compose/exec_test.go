package compose

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestExec(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	ctx := context.Background()
	out, err := Exec(ctx, []string{"CHORUS_X=42"}, "sh", "-c", `echo "$CHORUS_X"; echo progress >&2`)
	if err != nil || string(out) != "42\n" {
		t.Errorf("Exec = %q, %v; want the variable on stdout only", out, err)
	}
	_, err = Exec(ctx, nil, "sh", "-c", `echo one >&2; echo; echo two >&2; exit 3`)
	if err == nil || !strings.HasSuffix(err.Error(), "exit status 3: one | two") {
		t.Errorf("a failed command: %v", err)
	}
	if _, err := Exec(ctx, nil, "chorus-no-such-command"); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("a missing command: %v, want exec.ErrNotFound", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Exec(cctx, nil, "sh", "-c", "sleep 30 & wait"); err == nil {
		t.Error("a cancelled command succeeded")
	}
}
