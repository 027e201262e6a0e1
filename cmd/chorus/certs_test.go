package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/certs"
)

func TestCertsCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	steps := []struct {
		args  []string
		files []string
	}{
		{[]string{"create-ca"}, []string{certs.CAFile, certs.CAKeyFile, certs.GossipKeyFile}},
		{[]string{"create-node", "node0", "127.0.0.1", "chorus-0.chorus.default.svc"}, []string{certs.NodeCertFile, certs.NodeKeyFile}},
		{[]string{"create-client", "alice", "--lifetime", "90d"}, []string{certs.ClientCertFile("alice"), certs.ClientKeyFile("alice")}},
	}
	for _, s := range steps {
		r := runCLI(t, "", append(append([]string{"certs"}, s.args...), "--certs-dir", dir)...)
		if r.code != 0 {
			t.Fatalf("certs %v: exit %d: %s", s.args, r.code, r.stderr)
		}
		for _, f := range s.files {
			if !strings.Contains(r.stdout, "wrote "+filepath.Join(dir, f)+"\n") {
				t.Errorf("certs %v: stdout %q does not name %s", s.args, r.stdout, f)
			}
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
	}
	if _, err := certs.LoadNode(dir, nil); err != nil {
		t.Errorf("the node certificate does not load: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, certs.ClientCertFile("alice")))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Until(c.NotAfter); got < 89*24*time.Hour || got > 91*24*time.Hour {
		t.Errorf("--lifetime 90d: certificate valid for %v more", got)
	}

	// CHORUS_CERTS_DIR stands for --certs-dir.
	t.Setenv("CHORUS_CERTS_DIR", dir)
	if r := runCLI(t, "", "certs", "create-client", "bob"); r.code != 0 {
		t.Errorf("create-client with CHORUS_CERTS_DIR: exit %d: %s", r.code, r.stderr)
	}
}

func TestCertsCreateErrors(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, "", "certs", "create-ca", "--certs-dir", dir); r.code != 0 {
		t.Fatalf("create-ca: exit %d: %s", r.code, r.stderr)
	}
	noCA := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create-ca"}, "--certs-dir is required"},
		{[]string{"create-ca", "--certs-dir", dir}, "--overwrite"},
		{[]string{"create-ca", "--certs-dir", t.TempDir(), "--lifetime", "soon"}, "--lifetime"},
		{[]string{"create-ca", "--certs-dir", t.TempDir(), "--lifetime", "-1h"}, "--lifetime"},
		{[]string{"create-node", "--certs-dir", dir, "node0"}, "at least one HOST"},
		{[]string{"create-node", "--certs-dir", dir, "node0", "not a host"}, "neither an IP address nor a DNS name"},
		{[]string{"create-node", "--certs-dir", noCA, "node0", "127.0.0.1"}, "no CA"},
		{[]string{"create-client", "--certs-dir", dir, "../root"}, "user"},
		{[]string{"create-client", "--certs-dir", dir}, "USER"},
		{[]string{}, "subcommand"},
	} {
		r := runCLI(t, "", append([]string{"certs"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("certs %q: exit %d stderr %q, want 2 saying %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if r := runCLI(t, "", "certs", "create-ca", "--certs-dir", dir, "--overwrite"); r.code != 0 {
		t.Errorf("create-ca --overwrite: exit %d: %s", r.code, r.stderr)
	}
}
