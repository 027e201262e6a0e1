package main

import (
	"slices"
	"strings"
	"testing"
)

func TestVerifyWriteThenRead(t *testing.T) {
	f := startFake(t)
	r := f.must(t, 0, "verify", "write", "--count", "20", "--prefix", "v-", "--clients", "3")
	acked := strings.Fields(r.stdout)
	slices.Sort(acked)
	if len(acked) != 20 || acked[0] != "v-000000" || acked[19] != "v-000019" {
		t.Errorf("verify write printed %d keys %v, want v-000000 to v-000019", len(acked), acked)
	}
	if !strings.Contains(r.stderr, "20 of 20 acknowledged") {
		t.Errorf("verify write stderr %q, want the counts", r.stderr)
	}

	r = runCLI(t, r.stdout, "verify", "read", "--endpoints", f.addr, "--insecure")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "20 of 20 read back") {
		t.Errorf("verify read: exit %d stdout %q stderr %q, want every key read back", r.code, r.stdout, r.stderr)
	}
}

func TestVerifyReadReportsLostKeys(t *testing.T) {
	f := startFake(t)
	f.must(t, 0, "verify", "write", "--count", "2", "--prefix", "v-")
	f.must(t, 0, "put", "other-value", "not the verify value")
	keys := "v-000000\nv-000001\n\nnever-written\nother-value\nfail-unreadable\n"
	r := runCLI(t, keys, "verify", "read", "--attempts", "1", "--endpoints", f.addr, "--insecure")
	if r.code != exitRuntime {
		t.Fatalf("verify read of lost keys: exit %d, want %d\nstderr: %s", r.code, exitRuntime, r.stderr)
	}
	bad := strings.Fields(r.stdout)
	slices.Sort(bad)
	if want := []string{"fail-unreadable", "never-written", "other-value"}; !slices.Equal(bad, want) {
		t.Errorf("verify read reported %v, want %v", bad, want)
	}
	if !strings.Contains(r.stderr, "2 of 5 read back, 3 failed") {
		t.Errorf("verify read stderr %q, want the counts", r.stderr)
	}
}

func TestVerifyWriteNothingAcknowledged(t *testing.T) {
	f := startFake(t)
	r := f.must(t, exitRuntime, "verify", "write", "--count", "3", "--prefix", "fail-")
	if r.stdout != "" || !strings.Contains(r.stderr, "0 of 3 acknowledged, 3 failed; first error") {
		t.Errorf("verify write of failing keys: stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestVerifyMembers(t *testing.T) {
	f := startFake(t)
	// The fake's ring has one active, alive member (node-b is joining).
	r := f.must(t, 0, "verify", "members", "--want", "1", "--wait", "5s")
	if !strings.Contains(r.stdout, "ring 1, 1 active and alive: node-a=active node-b=joining") {
		t.Errorf("verify members printed %q", r.stdout)
	}
	r = f.must(t, exitRuntime, "verify", "members", "--want", "2", "--wait", "1ms")
	if !strings.Contains(r.stderr, "did not reach 2") {
		t.Errorf("verify members --want 2: stderr %q", r.stderr)
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	f := startFake(t)
	for _, args := range [][]string{
		{"verify", "write", "--count", "0"},
		{"verify", "write", "--clients", "0"},
		{"verify", "read", "--attempts", "0"},
		{"verify", "read", "/no/such/file"},
		{"verify", "members", "--want", "0"},
		{"verify", "members", "--wait", "0s"},
	} {
		if r := f.must(t, exitUsage, args...); r.stderr == "" {
			t.Errorf("chorus %s: no message", strings.Join(args, " "))
		}
	}
}
