package main

import (
	"strings"
	"testing"
)

// Membership commands check their arguments and the member before they
// ask any node for a change.
func TestMembershipCommandErrors(t *testing.T) {
	f := startFake(t)
	r := f.must(t, exitUsage, "remove", "nope")
	if !strings.Contains(r.stderr, `no member "nope"`) {
		t.Errorf("remove of an unknown node: stderr %q", r.stderr)
	}
	r = f.must(t, exitUsage, "leave", "nope")
	if !strings.Contains(r.stderr, `no member "nope"`) {
		t.Errorf("leave of an unknown node: stderr %q", r.stderr)
	}
	r = f.must(t, 1, "leave", "node-b")
	if !strings.Contains(r.stderr, "not up") || !strings.Contains(r.stderr, "chorus remove node-b") {
		t.Errorf("leave of a node that is down: stderr %q, want it to point at remove", r.stderr)
	}
	for _, args := range [][]string{{"leave"}, {"remove"}, {"transfers", "extra"}} {
		if r := runCLI(t, "", args...); r.code != exitUsage {
			t.Errorf("chorus %s: exit %d, want %d", strings.Join(args, " "), r.code, exitUsage)
		}
	}
}
