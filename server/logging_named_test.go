package server

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// A logger made by NamedLogger before the node exists gets the node's
// name once the node, started with it, learns its ID.
func TestNamedLoggerSharesTheName(t *testing.T) {
	var buf bytes.Buffer
	early := NamedLogger(slog.New(slog.NewTextHandler(&buf, nil)), "")
	early.Info("before")
	log, setName := nodeLogger(early, "")
	setName("n7")
	early.Info("certs: refused client certificate", "certificate", "root")
	log.Info("node ready")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || strings.Contains(lines[0], "node=") ||
		!strings.Contains(lines[1], "node=n7") || !strings.Contains(lines[2], "node=n7") || strings.Count(lines[2], "node=") != 1 {
		t.Fatalf("lines:\n%s", buf.String())
	}
}
