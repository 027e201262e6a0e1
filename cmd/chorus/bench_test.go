package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/server"
)

func TestBenchLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lc, err := server.StartLocal(ctx, server.LocalConfig{Nodes: 3, Dir: t.TempDir(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	var eps []string
	for _, n := range lc.Nodes {
		eps = append(eps, n.Addrs().GRPC)
	}
	common := []string{"bench", "--endpoints", strings.Join(eps, ","), "--ops", "200", "--clients", "4", "--keys", "100"}

	r := runCLI(t, "", append(common, "--op", "put", "--w", "3")...)
	if r.code != 0 {
		t.Fatalf("bench --op put: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !regexp.MustCompile(`(?m)^ *put +200 +\d+ .* 0 *$`).MatchString(r.stdout) {
		t.Errorf("bench --op put: no put row with 200 ops and 0 errors:\n%s", r.stdout)
	}

	out := filepath.Join(t.TempDir(), "get.json")
	r = runCLI(t, "", append(common, "--op", "get", "--out", out)...)
	if r.code != 0 {
		t.Fatalf("bench --op get: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, re := range []string{`(?m)^ *preload +100 `, `(?m)^ *get +200 +\d+ .* 0 *$`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("bench --op get: table lacks %s:\n%s", re, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "misses") {
		t.Errorf("bench --op get after a preload reported misses:\n%s", r.stdout)
	}
	var rep struct {
		Op  string `json:"op"`
		Ops []struct {
			Op     string  `json:"op"`
			Count  int64   `json:"count"`
			P50US  float64 `json:"p50_us"`
			Errors int64   `json:"errors"`
		} `json:"ops"`
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("--out is not JSON: %v\n%s", err, data)
	}
	if rep.Op != "get" || len(rep.Ops) != 1 || rep.Ops[0].Count != 200 || rep.Ops[0].P50US <= 0 {
		t.Errorf("--out report = %+v, want 200 gets with a positive p50", rep)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--op", "scan"},
		{"bench", "--read-ratio", "2", "--op", "mixed"},
		{"bench", "--clients", "0"},
		{"bench", "--duration", "0"},
		{"bench", "--r", "3", "--n", "2"},
		{"bench", "--clients", "many"},
		{"bench", "extra"},
	} {
		r := runCLI(t, "", args...)
		if r.code != exitUsage {
			t.Errorf("chorus %s: exit %d, want %d\nstderr: %s", strings.Join(args, " "), r.code, exitUsage, r.stderr)
		}
	}
	// The environment sets flags too.
	t.Setenv("CHORUS_OP", "nope")
	if r := runCLI(t, "", "bench"); r.code != exitUsage || !strings.Contains(r.stderr, "nope") {
		t.Errorf("CHORUS_OP=nope: exit %d stderr %q, want usage error", r.code, r.stderr)
	}
}

func TestBenchUnreachable(t *testing.T) {
	// A closed port: the run cannot start.
	r := runCLI(t, "", "bench", "--endpoints", "127.0.0.1:1", "--ops", "10")
	if r.code != exitRuntime {
		t.Errorf("bench against a closed port: exit %d, want %d\nstderr: %s", r.code, exitRuntime, r.stderr)
	}
}
