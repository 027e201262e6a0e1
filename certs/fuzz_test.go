package certs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chorusdb/chorus/certs"
)

// FuzzLoadFiles feeds arbitrary bytes as node.crt and gossip.key (files an
// operator copies around): loading reports an error and never panics.
func FuzzLoadFiles(f *testing.F) {
	dir := f.TempDir()
	o := certs.CreateOptions{Dir: dir}
	if err := certs.CreateCA(o); err != nil {
		f.Fatal(err)
	}
	if err := certs.CreateNode(o, "n0", []string{"127.0.0.1"}); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, certs.NodeCertFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("c2hvcnQ="))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDir := t.TempDir()
		for _, name := range []string{certs.CAFile, certs.NodeKeyFile} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(fuzzDir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range []string{certs.NodeCertFile, certs.GossipKeyFile} {
			if err := os.WriteFile(filepath.Join(fuzzDir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if fn, err := certs.LoadNode(fuzzDir, nil); err == nil {
			_, _ = fn.GossipKey()
		}
		if _, err := certs.LoadClient(fuzzDir, "x"); err != nil {
			t.Errorf("LoadClient with only ca.crt: %v", err)
		}
	})
}
