package server

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/transport/memnet"
)

func TestNodeLoggerNamesTheNode(t *testing.T) {
	var buf chorustest.Buffer
	log, logAs := nodeLogger(slog.New(slog.NewJSONHandler(&buf, nil)), "")
	log.Info("before")
	logAs("a")
	log.With("component", "x").Info("after", "peer", "b")
	log.Info("self again", "node", "a")
	log.Info("another node", "node", "c")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines: %q", len(lines), buf.String())
	}
	if strings.Contains(lines[0], `"node"`) {
		t.Errorf("line before the name is known has a node: %s", lines[0])
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["node"] != "a" || rec["peer"] != "b" || rec["component"] != "x" {
		t.Errorf("line %s, want node a, peer b, component x", lines[1])
	}
	if want := `"msg":"self again","node":"a"}`; !strings.HasSuffix(lines[2], want) {
		t.Errorf("line %s, want it to end %s (node once)", lines[2], want)
	}
	if want := `"msg":"another node","node":"a","peer":"c"}`; !strings.HasSuffix(lines[3], want) {
		t.Errorf("line %s, want it to end %s", lines[3], want)
	}
}

// TestEveryNodeLogLineNamesTheNode starts and stops a node that logs in
// JSON at debug level and checks each line carries node=<its ID>.
func TestEveryNodeLogLineNamesTheNode(t *testing.T) {
	var buf chorustest.Buffer
	net := memnet.New(memnet.Config{Seed: 1})
	defer net.Close()
	cfg := DefaultConfig()
	cfg.NodeID, cfg.InMemory, cfg.MemNet, cfg.Members = "a", true, net, []string{"a"}
	cfg.Ring.Replicas = 1
	cfg.Defaults.N, cfg.Defaults.R, cfg.Defaults.W = 1, 1, 1
	cfg.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSpace(buf.String())
	if out == "" {
		t.Fatal("the node logged nothing")
	}
	for _, line := range strings.Split(out, "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if rec["node"] != "a" || strings.Count(line, `"node":`) != 1 {
			t.Errorf("line without exactly one node=a: %s", line)
		}
	}
}
