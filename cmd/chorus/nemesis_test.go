package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/nemesis"
)

func TestNemesisBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"nemesis", "--faults", "meteor"},
		{"nemesis", "--nodes", "2"},
		{"nemesis", "--workloads", "bank"},
		{"nemesis", "-r", "4"},
		{"nemesis", "--compose", "--nodes", "3"},
		{"nemesis", "--compose", "--compose-project", "Not A Project"},
		{"nemesis", "--compose-file", "other.yml"},
	} {
		r := runCLI(t, "", args...)
		if r.code != exitUsage || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", args, r.code, r.stderr)
		}
	}
}

// TestNemesisComposeWithoutDocker: --compose on a machine without Docker
// is an environment error (exit 2) that says what is missing, and
// starts nothing.
func TestNemesisComposeWithoutDocker(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	r := runCLI(t, "", "nemesis", "--compose", "--duration", "5s", "--seed", "1", "--out", t.TempDir())
	if r.code != exitUsage || !strings.Contains(r.stderr, "docker is not installed") {
		t.Errorf("exit %d, stderr %q; want 2 saying docker is not installed", r.code, r.stderr)
	}
}

// TestNemesisShortRun runs a short fault test of five node processes
// with kills and pauses: it ends without anomalies, prints the report and
// leaves the history and the JSON report.
func TestNemesisShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chorus and runs five node processes")
	}
	out := t.TempDir()
	r := runCLIWithin(t, 4*time.Minute, "", "nemesis", "--chorus-binary", buildChorus(t), "--duration", "12s",
		"--faults", "kill,pause", "--seed", "3", "--clients", "1", "--out", out, "--port-base", "24000")
	if r.code != 0 {
		t.Fatalf("nemesis: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"PASS: no anomalies", "lost               0", "replay: chorus nemesis --seed 3"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, r.stdout)
		}
	}
	var rep map[string]any
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if h, err := os.ReadFile(filepath.Join(out, "history.jsonl")); err != nil || strings.Count(string(h), `{"op":`) < 100 {
		t.Fatalf("history.jsonl: %d operations (err %v), want at least 100", strings.Count(string(h), `{"op":`), err)
	}
}

// TestNemesisCheckHistory: --check judges a recorded history again,
// exit 1 on an anomaly (a write acknowledged, then missing from every
// replica), 2 on a file that is no history.
func TestNemesisCheckHistory(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, final nemesis.Final) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		enc := nemesis.NewEncoder(f)
		if err := enc.Meta(nemesis.Meta{Seed: 1, Workloads: []string{nemesis.WriteOnce}}); err != nil {
			t.Fatal(err)
		}
		if err := enc.Op(nemesis.Op{Seq: 1, Workload: nemesis.WriteOnce, Kind: nemesis.Put, Key: "nemesis/write-once/0/1",
			Value: []byte(`{"id":"write-once:0:1"}`), Node: "node0", Invoke: 1, Complete: 2, Outcome: nemesis.OK}); err != nil {
			t.Fatal(err)
		}
		if err := enc.Final(final); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	lost := write("lost.jsonl", nemesis.Final{Converged: true, Keys: map[string][]nemesis.Copy{
		"nemesis/write-once/0/1": {{Node: "node0", Replica: true}, {Node: "node1", Replica: true}}}})
	r := runCLI(t, "", "nemesis", "--check", lost)
	if r.code != exitRuntime || !strings.Contains(r.stdout, "lost               1") {
		t.Errorf("a lost write: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	junk := filepath.Join(dir, "junk.jsonl")
	if err := os.WriteFile(junk, []byte("not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", "nemesis", "--check", junk); r.code != exitUsage || r.stderr == "" {
		t.Errorf("junk: exit %d, stderr %q; want 2 with a message", r.code, r.stderr)
	}
}

// TestNemesisCheckWritesConvergencePlot: --check --out of a run of cycles
// writes each heal's convergence as a plot beside the timeline, and of a
// timed run (no probed heal) leaves none, not even an earlier one.
func TestNemesisCheckWritesConvergencePlot(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, probed bool) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		enc := nemesis.NewEncoder(f)
		if err := enc.Meta(nemesis.Meta{Seed: 1, Workloads: []string{nemesis.WriteOnce}}); err != nil {
			t.Fatal(err)
		}
		fault := nemesis.Fault{Kind: nemesis.FaultKill, Nodes: []string{"node1"}, Start: 1e9, End: 3e9}
		if probed {
			fault.Converge = &nemesis.HealConvergence{Keys: 3, Nanos: 2e9, Converged: true}
		}
		if err := enc.Fault(fault); err != nil {
			t.Fatal(err)
		}
		if err := enc.Final(nemesis.Final{Converged: true, Keys: map[string][]nemesis.Copy{}}); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	out := filepath.Join(dir, "out")
	r := runCLI(t, "", "nemesis", "--check", write("cycles.jsonl", true), "--out", out)
	if r.code != 0 || !strings.Contains(r.stdout, "convergence after each heal") {
		t.Fatalf("cycles: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "convergence.png")); err != nil {
		t.Fatalf("no convergence plot: %v", err)
	}
	r = runCLI(t, "", "nemesis", "--check", write("timed.jsonl", false), "--out", out)
	if r.code != 0 || strings.Contains(r.stdout, "convergence after each heal") {
		t.Fatalf("timed: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "convergence.png")); err == nil {
		t.Error("the timed run's check left the earlier convergence plot in place")
	}
}
