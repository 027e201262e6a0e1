package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/chorusdb/chorus/chorustest"
)

// TestReloadOnHangup sends this process SIGHUP: every reloader runs, a
// failing one is logged and the others still run.
func TestReloadOnHangup(t *testing.T) {
	var certs, auth atomic.Int32
	var logs chorustest.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	stop := reloadOnHangup(context.Background(), log, []reloader{
		{"certificates", func() error { certs.Add(1); return errors.New("node.crt: expired") }},
		{"auth file", func() error { auth.Add(1); return nil }},
	})
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	chorustest.Eventually(t, "both reloaders run and are logged", func() bool {
		s := logs.String()
		return certs.Load() == 1 && auth.Load() == 1 &&
			bytes.Contains([]byte(s), []byte("keeping the previous certificates")) && bytes.Contains([]byte(s), []byte("reloaded auth file"))
	})
}
