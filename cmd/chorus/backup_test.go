package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/client"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/localcluster"
)

func TestBackupRestoreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "exists.bak")
	if err := os.WriteFile(existing, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"backup", "--insecure"}, "--out FILE is required"},
		{[]string{"backup", "--insecure", "--out", existing}, "--force"},
		{[]string{"backup", "--out", filepath.Join(dir, "b")}, "--certs-dir DIR (TLS) or --insecure"},
		{[]string{"backup", "--insecure", "--out", "x", "extra"}, "want 0 argument"},
		{[]string{"backup", "--insecure", "--out", "x", "--nope"}, "unknown flag"},
		{[]string{"restore", "--insecure"}, "want 1 argument"},
		{[]string{"restore", "--insecure", filepath.Join(dir, "missing.bak")}, "no such file"},
		{[]string{"restore", "--insecure", existing, "--batch-keys", "0"}, "--batch-keys >= 1"},
		{[]string{"restore", "--insecure", existing, "-w", "-1"}, "-w must be >= 0"},
		{[]string{"node", "--insecure", "--in-memory", "--backup-keys-per-second", "0"}, "--backup-keys-per-second"},
		{[]string{"node", "--insecure", "--in-memory", "--backup-backoff-above", "0s"}, "--backup-backoff-above"},
	} {
		r := runCLI(t, "", c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("chorus %s: exit %d, stderr %q; want exit 2 with %q", strings.Join(c.args, " "), r.code, r.stderr, c.msg)
		}
	}
}

// startBackupCluster starts a 3-node local cluster of 16 partitions and
// returns its gRPC endpoints.
func startBackupCluster(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: 3, Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		Configure: func(_ int, cfg *server.Config) {
			cfg.Ring.Partitions = 16
			cfg.Backup.ForegroundP99 = func() time.Duration { return 0 } // a loaded test box must not slow it
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lc.Close() })
	var eps []string
	for _, n := range lc.Nodes {
		eps = append(eps, n.Addrs().GRPC)
	}
	return strings.Join(eps, ",")
}

func connectTo(t *testing.T, eps string) *client.Client {
	t.Helper()
	cfg := client.DefaultConfig()
	cfg.Endpoints = strings.Split(eps, ",")
	c, err := client.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestBackupAndRestoreCommands: chorus backup of a running cluster,
// restored with chorus restore into another; a damaged copy of the file is
// refused with the byte and restores nothing.
func TestBackupAndRestoreCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two 3-node clusters")
	}
	src := startBackupCluster(t)
	c := connectTo(t, src)
	ctx := context.Background()
	const keys = 60
	for i := range keys {
		if _, err := c.Put(ctx, []byte(fmt.Sprintf("key%02d", i)), []byte(fmt.Sprintf("value%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "cluster.bak")
	r := runCLIWithin(t, time.Minute, "", "backup", "--insecure", "--endpoints", src, "--out", file)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("backed up %d keys of 16 partitions", keys)) {
		t.Fatalf("backup: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "backup [####################] 100%") || !strings.Contains(r.stderr, "keys/s") {
		t.Errorf("backup progress on stderr: %q", r.stderr)
	}
	if _, err := os.Stat(file + ".partial"); !os.IsNotExist(err) {
		t.Errorf("%s.partial left behind: %v", file, err)
	}

	dst := startBackupCluster(t)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(t.TempDir(), "damaged.bak")
	bad := append([]byte{}, b...)
	bad[len(bad)/2] ^= 0x01
	os.WriteFile(damaged, bad, 0o600)
	r = runCLIWithin(t, time.Minute, "", "restore", "--insecure", "--endpoints", dst, damaged)
	if r.code != exitRuntime || !strings.Contains(r.stderr, "corrupt at byte") || !strings.Contains(r.stderr, "nothing was restored") {
		t.Fatalf("restore of a damaged file: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	cut := filepath.Join(t.TempDir(), "cut.bak")
	os.WriteFile(cut, b[:len(b)-1], 0o600)
	r = runCLIWithin(t, time.Minute, "", "restore", "--insecure", "--endpoints", dst, cut)
	if r.code != exitRuntime || !strings.Contains(r.stderr, "truncated at byte") {
		t.Fatalf("restore of a truncated file: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	d := connectTo(t, dst)
	if res, err := d.Get(ctx, []byte("key00")); err != nil || res.Found {
		t.Fatalf("key00 in the target after refused restores: %+v %v, want absent", res, err)
	}

	r = runCLIWithin(t, time.Minute, "", "restore", "--insecure", "--endpoints", dst, "--dry-run", file)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("%d keys: %d new to the cluster", keys, keys)) {
		t.Fatalf("restore --dry-run: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = runCLIWithin(t, time.Minute, "", "restore", "--insecure", "--endpoints", dst, "--batch-keys", "7", "-o", "json", file)
	var sum restoreSummary
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &sum) != nil || sum.Applied != keys || sum.Failed != 0 {
		t.Fatalf("restore: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for i := range keys {
		res, err := d.Get(ctx, []byte(fmt.Sprintf("key%02d", i)))
		if err != nil || !res.Found || string(res.Values[0]) != fmt.Sprintf("value%02d", i) {
			t.Fatalf("key%02d after restore: %+v %v", i, res, err)
		}
	}
}
