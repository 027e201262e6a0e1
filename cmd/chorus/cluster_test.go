package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	f := startFake(t)
	r := f.must(t, 0, "status")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("status printed %d lines, want header and 2 members:\n%s", len(lines), r.stdout)
	}
	for _, want := range [][]string{
		{"ID", "ZONE", "STATUS", "ALIVE", "GRPC", "HTTP", "PRIMARIES"},
		{"node-a", "z1", "active", "true", f.addr, "127.0.0.1:8080", "2", "2"},
		{"node-b", "z2", "joining", "false", "-", "-", "0", "0"},
	} {
		found := false
		for _, l := range lines {
			if strings.Join(strings.Fields(l)[:len(want)], " ") == strings.Join(want, " ") {
				found = true
			}
		}
		if !found {
			t.Errorf("status lacks a row starting %v:\n%s", want, r.stdout)
		}
	}
	r = f.must(t, 0, "status", "--json")
	var ms []struct{ ID string }
	if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil || len(ms) != 2 || ms[0].ID != "node-a" {
		t.Errorf("status --json = %s (%v)", r.stdout, err)
	}
}

func TestRing(t *testing.T) {
	f := startFake(t)
	r := f.must(t, 0, "ring")
	for _, want := range []string{"partitions:   2", "replicas:     1", "ring version: 42", "ring size:    1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("ring lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "PARTITION") {
		t.Errorf("ring without --partitions printed the table")
	}
	r = f.must(t, 0, "ring", "--partitions")
	var rows []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if fs := strings.Fields(l); len(fs) == 2 && fs[1] == "node-a" {
			rows = append(rows, fs[0])
		}
	}
	if strings.Join(rows, ",") != "0,1" {
		t.Errorf("ring --partitions rows %v, want partitions 0 and 1 on node-a:\n%s", rows, r.stdout)
	}
}
