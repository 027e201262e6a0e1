package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestEnvName(t *testing.T) {
	for flag, want := range map[string]string{"endpoints": "CHORUS_ENDPOINTS", "data-dir": "CHORUS_DATA_DIR", "no-sync": "CHORUS_NO_SYNC"} {
		if got := envName(flag); got != want {
			t.Errorf("envName(%q) = %q, want %q", flag, got, want)
		}
	}
}

func TestEnvBinding(t *testing.T) {
	f := startFake(t)
	t.Setenv("CHORUS_ENDPOINTS", f.addr)
	t.Setenv("CHORUS_NO_SYNC", "true")
	t.Setenv("CHORUS_W", "1")
	t.Setenv("CHORUS_INSECURE", "1")
	if r := runCLI(t, "", "put", "k", "v"); r.code != 0 {
		t.Fatalf("put with CHORUS_ENDPOINTS: exit %d: %s", r.code, r.stderr)
	}
	if q, _ := f.last(); !q.NotDurable || q.W != 1 {
		t.Errorf("quorum %v, want not durable and w=1 from the environment", q)
	}
	// The command line wins over the environment.
	if r := runCLI(t, "", "put", "k", "v", "--w", "2"); r.code != 0 {
		t.Fatalf("put: exit %d: %s", r.code, r.stderr)
	}
	if q, _ := f.last(); q.W != 2 {
		t.Errorf("w = %d, want 2 from the flag", q.W)
	}
	t.Setenv("CHORUS_ENDPOINTS", "127.0.0.1:1")
	if r := runCLI(t, "", "get", "k", "--endpoints", f.addr); r.code != 0 {
		t.Errorf("get with --endpoints over a bad CHORUS_ENDPOINTS: exit %d: %s", r.code, r.stderr)
	}
	// A bad value is a usage error naming the variable.
	t.Setenv("CHORUS_R", "abc")
	r := runCLI(t, "", "get", "k")
	if r.code != exitUsage || !strings.Contains(r.stderr, "CHORUS_R") {
		t.Errorf("CHORUS_R=abc: exit %d stderr %q, want 2 naming CHORUS_R", r.code, r.stderr)
	}
}

// TestEnvServerCommands checks that a command added by
// addServerCommands gets environment variables for its flags too.
func TestEnvServerCommands(t *testing.T) {
	e := &env{stdin: strings.NewReader(""), stdout: new(strings.Builder), stderr: new(strings.Builder),
		lookupEnv: func(k string) (string, bool) {
			v, ok := map[string]string{"CHORUS_DATA_DIR": "/from/env", "CHORUS_GRPC_ADDR": ":1"}[k]
			return v, ok
		}}
	root := newRootCmd(e)
	var dataDir, grpcAddr string
	node := &cobra.Command{Use: "fake-node", RunE: func(*cobra.Command, []string) error { return nil }}
	node.Flags().StringVar(&dataDir, "data-dir", "", "")
	node.Flags().StringVar(&grpcAddr, "grpc-addr", "", "")
	root.AddCommand(node)
	root.SetArgs([]string{"fake-node", "--grpc-addr", ":2"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if dataDir != "/from/env" || grpcAddr != ":2" {
		t.Errorf("data-dir %q grpc-addr %q, want /from/env and :2 (flag wins)", dataDir, grpcAddr)
	}
}
