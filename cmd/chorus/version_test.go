package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chorusdb/chorus/version"
)

func TestVersionCommand(t *testing.T) {
	want := version.Get().String() + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runCLI(t, "", args...)
		if r.code != 0 || r.stdout != want {
			t.Errorf("chorus %v: exit %d, stdout %q, want 0 and %q (stderr %q)", args, r.code, r.stdout, want, r.stderr)
		}
	}
	r := runCLI(t, "", "version", "-o", "json")
	if r.code != 0 {
		t.Fatalf("version -o json: exit %d: %s", r.code, r.stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("version -o json: %v in %q", err, r.stdout)
	}
	for _, key := range []string{"version", "commit", "dirty", "go_version", "platform"} {
		if _, ok := got[key]; !ok {
			t.Errorf("version -o json lacks %q: %s", key, r.stdout)
		}
	}
	if got["commit"] == "" {
		t.Errorf("commit is empty; want a revision or %q", version.Unknown)
	}
	r = runCLI(t, "", "version", "-o", "yaml")
	if r.code != exitUsage || !strings.Contains(r.stderr, "-o") {
		t.Errorf("version -o yaml: exit %d, stderr %q; want %d naming -o", r.code, r.stderr, exitUsage)
	}
}
