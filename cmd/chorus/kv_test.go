package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/transport/pb"
)

func TestPutGetDel(t *testing.T) {
	f := startFake(t)
	r := f.must(t, 0, "put", "k", "hello")
	if r.stdout != "ctx-1\n" {
		t.Errorf("put printed %q, want the new context ctx-1", r.stdout)
	}
	r = f.must(t, 0, "get", "k")
	if r.stdout != "hello\n" || !strings.Contains(r.stderr, "context: ctx-1") || strings.Contains(r.stderr, "siblings") {
		t.Errorf("get: stdout %q stderr %q; want hello and context ctx-1", r.stdout, r.stderr)
	}

	// A blind write makes a sibling; get shows both and says so.
	f.must(t, 0, "put", "k", "world")
	r = f.must(t, 0, "get", "k")
	if r.stdout != "2 siblings:\n[1] \"hello\"\n[2] \"world\"\n" || !strings.Contains(r.stderr, "context: ctx-2") {
		t.Errorf("get siblings: stdout %q stderr %q", r.stdout, r.stderr)
	}
	// Writing back with the context resolves them.
	r = f.must(t, 0, "put", "k", "merged", "--context", "ctx-2")
	if _, ctx := f.last(); ctx != "ctx-2" {
		t.Errorf("put --context sent %q, want ctx-2", ctx)
	}
	if r = f.must(t, 0, "get", "k"); r.stdout != "merged\n" {
		t.Errorf("get after merge: %q", r.stdout)
	}

	r = f.must(t, 0, "del", "k", "--context", "ctx-3")
	if r.stdout != "ctx-4\n" {
		t.Errorf("del printed %q, want ctx-4", r.stdout)
	}
	r = f.must(t, exitNotFound, "get", "k")
	if r.stdout != "" || !strings.Contains(r.stderr, "not found") || !strings.Contains(r.stderr, "context: ctx-4") {
		t.Errorf("get deleted: stdout %q stderr %q; want not found and context ctx-4", r.stdout, r.stderr)
	}
	if r = f.must(t, exitNotFound, "get", "never"); !strings.Contains(r.stderr, "not found") {
		t.Errorf("get missing: stderr %q", r.stderr)
	}
}

func TestPutStdin(t *testing.T) {
	f := startFake(t)
	r := runCLI(t, "line1\nline2", "put", "k", "-", "--endpoints", f.addr, "--insecure")
	if r.code != 0 {
		t.Fatalf("put -: exit %d: %s", r.code, r.stderr)
	}
	if got := f.must(t, 0, "get", "k").stdout; got != "line1\nline2\n" {
		t.Errorf("value from stdin = %q", got)
	}
}

// A value holding a newline is never taken for two siblings: the
// default layout quotes each sibling, and --separator joins raw values.
func TestGetSiblingsUnambiguous(t *testing.T) {
	f := startFake(t)
	f.must(t, 0, "put", "k", "a\nb")
	if r := f.must(t, 0, "get", "k"); r.stdout != "a\nb\n" {
		t.Errorf("one value: stdout %q, want it raw", r.stdout)
	}
	f.must(t, 0, "put", "k", "c")
	r := f.must(t, 0, "get", "k")
	if r.stdout != "2 siblings:\n[1] \"a\\nb\"\n[2] \"c\"\n" {
		t.Errorf("siblings: stdout %q", r.stdout)
	}
	for sep, want := range map[string]string{`\0`: "a\nb\x00c", "|": "a\nb|c", `\t`: "a\nb\tc"} {
		if r := f.must(t, 0, "get", "k", "--separator", sep); r.stdout != want {
			t.Errorf("--separator %q: stdout %q, want %q", sep, r.stdout, want)
		}
	}
	if r := f.must(t, exitUsage, "get", "k", "--separator", ""); !strings.Contains(r.stderr, "--separator") {
		t.Errorf("empty --separator: stderr %q", r.stderr)
	}
}

// getOut is get -o json as a program reads it.
type getOut struct {
	Found  bool `json:"found"`
	Values []struct {
		Value    string `json:"value"`
		Encoding string `json:"encoding"`
	} `json:"values"`
	Context  string   `json:"context"`
	Quorum   string   `json:"quorum"`
	Replicas []string `json:"replicas"`
}

func TestJSONOutput(t *testing.T) {
	f := startFake(t)
	var w struct {
		Context  string   `json:"context"`
		Quorum   string   `json:"quorum"`
		Replicas []string `json:"replicas"`
	}
	r := f.must(t, 0, "put", "k", "a\x00b", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &w); err != nil {
		t.Fatalf("put -o json: %v in %q", err, r.stdout)
	}
	if w.Context != "ctx-1" || w.Quorum != "sloppy" || len(w.Replicas) != 2 {
		t.Errorf("put -o json = %+v", w)
	}
	f.must(t, 0, "put", "k", "\xff\xfe")
	var g getOut
	r = f.must(t, 0, "get", "k", "--output", "json")
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil {
		t.Fatalf("get -o json: %v in %q", err, r.stdout)
	}
	if !g.Found || len(g.Values) != 2 || g.Context != "ctx-2" || g.Quorum != "strict" || len(g.Replicas) != 1 {
		t.Fatalf("get -o json = %+v", g)
	}
	if v := g.Values[0]; v.Value != "a\x00b" || v.Encoding != "utf-8" {
		t.Errorf("valid UTF-8 value = %+v, want the text with encoding utf-8", v)
	}
	if v := g.Values[1]; v.Value != base64.StdEncoding.EncodeToString([]byte("\xff\xfe")) || v.Encoding != "base64" {
		t.Errorf("binary value = %+v, want base64 with encoding base64", v)
	}
	// The deprecated --json is -o json, hidden from --help.
	if old := f.must(t, 0, "get", "k", "--json"); old.stdout != r.stdout {
		t.Errorf("--json printed %q, want what -o json prints, %q", old.stdout, r.stdout)
	}
	if h := f.must(t, 0, "get", "--help"); strings.Contains(h.stdout, "--json") || !strings.Contains(h.stdout, "-o, --output") {
		t.Errorf("get --help shows --json or lacks -o:\n%s", h.stdout)
	}
	if r := f.must(t, exitUsage, "get", "k", "--json", "-o", "table"); !strings.Contains(r.stderr, "--json") {
		t.Errorf("--json with -o table: stderr %q", r.stderr)
	}
	r = f.must(t, exitNotFound, "get", "missing", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil || g.Found || g.Values == nil {
		t.Errorf("get -o json missing = %s (%v), want found false and values []", r.stdout, err)
	}
	if r := f.must(t, exitUsage, "get", "k", "-o", "yaml"); !strings.Contains(r.stderr, `--output: unknown format "yaml" (table, json)`) {
		t.Errorf("-o yaml: stderr %q", r.stderr)
	}
	t.Setenv("CHORUS_OUTPUT", "json")
	if r := f.must(t, 0, "get", "k"); !strings.HasPrefix(r.stdout, "{") {
		t.Errorf("CHORUS_OUTPUT=json: stdout %q, want JSON", r.stdout)
	}
}

func TestQuorumFlags(t *testing.T) {
	f := startFake(t)
	f.must(t, 0, "put", "k", "v", "-n", "3", "--w", "2", "--pw", "1", "--no-sync", "--timeout", "1500ms")
	q, _ := f.last()
	if want := (&pb.Quorum{N: 3, W: 2, Pw: 1, NotDurable: true, TimeoutMs: 1500}); !proto.Equal(q, want) {
		t.Errorf("put sent quorum %v, want %v", q, want)
	}
	f.must(t, 0, "get", "k", "-r", "1", "--pr", "1")
	if q, _ := f.last(); !proto.Equal(q, &pb.Quorum{R: 1, Pr: 1}) {
		t.Errorf("get sent quorum %v, want r=1 pr=1", q)
	}
	f.must(t, 0, "del", "k")
	if q, _ := f.last(); !proto.Equal(q, &pb.Quorum{}) {
		t.Errorf("del without flags sent %v, want server defaults", q)
	}
}

func TestUsageErrors(t *testing.T) {
	f := startFake(t)
	for _, args := range [][]string{
		{"get"},
		{"get", "a", "b"},
		{"put", "k"},
		{"del"},
		{"status", "extra"},
		{"get", "k", "--bogus"},
		{"get", "k", "--r", "abc"},
		{"get", "k", "--r", "0"},
		{"get", "k", "--n", "1", "--r", "2"},
		{"put", "k", "v", "--w", "-1"},
		{"put", "k", "v", "--n", "17"},
		{"put", "k", "v", "--w", "1", "--pw", "2"},
		{"put", "k", "v", "--timeout", "-1s"},
		{"put", "k", "v", "--timeout", "soon"},
		{"frobnicate"},
	} {
		r := runCLI(t, "", append(args, "--endpoints", f.addr, "--insecure")...)
		if r.code != exitUsage {
			t.Errorf("chorus %q: exit %d, want 2 (stderr %q)", args, r.code, r.stderr)
			continue
		}
		if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 || r.stderr == "" {
			t.Errorf("chorus %q: stderr %q, want one line", args, r.stderr)
		}
	}
	// Messages name the flags as typed, not Go fields.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "k", "-r", "0"}, "-r must be at least 1"},
		{[]string{"get", "k", "-n", "1", "-r", "2"}, "-r 2 exceeds -n 1"},
		{[]string{"put", "k", "v", "-w", "1", "--pw", "2"}, "--pw 2 exceeds -w 1"},
	} {
		r := runCLI(t, "", append(tc.args, "--endpoints", f.addr, "--insecure")...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("chorus %q: exit %d stderr %q, want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if r := runCLI(t, "", "get", "k", "--endpoints", "", "--insecure"); r.code != exitUsage {
		t.Errorf("empty --endpoints: exit %d (stderr %q), want 2", r.code, r.stderr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.version != 0 || f.quorum != nil {
		t.Errorf("a usage error reached the server")
	}
}

func TestRuntimeErrors(t *testing.T) {
	f := startFake(t)
	r := f.must(t, exitRuntime, "put", "fail-key", "v")
	if !strings.Contains(r.stderr, "replica: write quorum not met (1/2)") {
		t.Errorf("stderr %q lacks the server's message", r.stderr)
	}
	r = runCLI(t, "", "get", "k", "--endpoints", "127.0.0.1:1", "--insecure")
	if r.code != exitRuntime || !strings.Contains(r.stderr, "no node reachable at 127.0.0.1:1: connection refused") ||
		strings.Contains(r.stderr, "TRANSIENT_FAILURE") || strings.Contains(r.stderr, "rpc error") {
		t.Errorf("unreachable: exit %d stderr %q, want 1 and the endpoint, connection refused, in words", r.code, r.stderr)
	}
}
