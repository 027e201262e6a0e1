package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestDemoTLS starts the demo as `chorus demo` does, on free ports: it
// serves TLS with the certificates it issued, the CLI reaches it with
// --certs-dir as the printed instructions say, and refuses to reach it
// in plaintext.
func TestDemoTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node loopback cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := demoFlags{nodes: 3, dir: t.TempDir()}
	lc, certsDir, err := d.start(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lc.Close() }()
	var out strings.Builder
	printDemo(&out, lc, certsDir)
	if !strings.Contains(out.String(), "export CHORUS_CERTS_DIR="+certsDir) || !strings.Contains(out.String(), "https://") {
		t.Errorf("instructions lack the certificates directory or https:\n%s", out.String())
	}
	ep := lc.Nodes[1].Addrs().GRPC
	if r := runCLI(t, "", "put", "--endpoints", ep, "--certs-dir", certsDir, "greeting", "hello"); r.code != 0 {
		t.Fatalf("put over TLS: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, "", "get", "--endpoints", ep, "--certs-dir", certsDir, "greeting"); r.code != 0 || !strings.Contains(r.stdout, "hello") {
		t.Fatalf("get over TLS: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLIWithin(t, 20*time.Second, "", "get", "--endpoints", ep, "--insecure", "--timeout", "2s", "greeting"); r.code == 0 {
		t.Errorf("plaintext get against the TLS demo succeeded: %s", r.stdout)
	}
}
