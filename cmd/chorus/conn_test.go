package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chorusdb/chorus/certs"
)

// Every command that talks to a cluster says how to connect when given
// neither --certs-dir nor --insecure, and refuses contradictions.
func TestConnFlagsRequired(t *testing.T) {
	f := startFake(t)
	dir := newCertsDir(t)
	for _, args := range [][]string{
		{"get", "k"}, {"put", "k", "v"}, {"del", "k"}, {"status"}, {"ring"}, {"transfers"},
		{"leave", "node-a"}, {"remove", "node-b"}, {"bench", "--ops", "1"}, {"bench", "staleness"},
	} {
		r := runCLI(t, "", append(args, "--endpoints", f.addr)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, errNoConnMode) {
			t.Errorf("chorus %s: exit %d stderr %q, want 2 saying %q", strings.Join(args, " "), r.code, r.stderr, errNoConnMode)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--insecure", "--certs-dir", dir}, "exclude each other"},
		{[]string{"--insecure", "--token", "t"}, "--token needs TLS"},
		{[]string{"--certs-dir", t.TempDir()}, certs.CAFile},
		{[]string{"--certs-dir", dir, "--user", "../x"}, "--user"},
	} {
		r := runCLI(t, "", append([]string{"get", "k", "--endpoints", f.addr}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("get %q: exit %d stderr %q, want 2 saying %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if r := runCLI(t, "", "bench", "--start", "--certs-dir", dir); r.code != exitUsage || !strings.Contains(r.stderr, "running Chorus cluster only") {
		t.Errorf("bench --start --certs-dir: exit %d stderr %q", r.code, r.stderr)
	}
}

// newCertsDir creates a CA, a node certificate for 127.0.0.1 and the
// client certificate of alice.
func newCertsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	o := certs.CreateOptions{Dir: dir}
	for _, err := range []error{certs.CreateCA(o), certs.CreateNode(o, "node-a", []string{"127.0.0.1"}), certs.CreateClient(o, "alice")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestTLSCommands(t *testing.T) {
	dir := newCertsDir(t)
	node, err := certs.LoadNode(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := startFakeWith(t, node.ClientListener())
	tls := []string{"--endpoints", f.addr, "--certs-dir", dir}

	// A client certificate: the node knows the user by it.
	if r := runCLI(t, "", append([]string{"put", "k", "v", "--user", "alice"}, tls...)...); r.code != 0 {
		t.Fatalf("put over TLS: exit %d: %s", r.code, r.stderr)
	}
	if auth, user := f.caller(); user != "alice" || auth != "" {
		t.Errorf("put --user alice: node saw user %q, authorization %q; want alice and none", user, auth)
	}
	// No certificate for root: the token authenticates.
	r := runCLI(t, "", append([]string{"get", "k", "--token", "s3cret"}, tls...)...)
	if r.code != 0 || r.stdout != "v\n" {
		t.Fatalf("get over TLS with a token: exit %d stdout %q: %s", r.code, r.stdout, r.stderr)
	}
	if auth, user := f.caller(); user != "" || auth != "Bearer s3cret" {
		t.Errorf("get --token: node saw user %q, authorization %q; want none and Bearer s3cret", user, auth)
	}
	// Plaintext to a TLS node fails at run time, not silently.
	if r := runCLI(t, "", "get", "k", "--endpoints", f.addr, "--insecure"); r.code != exitRuntime {
		t.Errorf("--insecure against a TLS node: exit %d, want %d", r.code, exitRuntime)
	}

	// The HTTP commands use https with the same certificates and token.
	var mu sync.Mutex
	var seen []string
	h := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		user, _ := certs.Identity(r.TLS)
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+user)
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"waiting": 0})
	}))
	h.Listener.Close()
	h.Listener, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.TLS = node.ClientListener()
	h.StartTLS()
	defer h.Close()
	f.mu.Lock()
	f.httpAddr = h.Listener.Addr().String()
	f.mu.Unlock()
	if r := runCLI(t, "", append([]string{"transfers", "--token", "s3cret"}, tls...)...); r.code != 0 {
		t.Fatalf("transfers over TLS: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, "", append([]string{"remove", "node-b", "--user", "alice"}, tls...)...); r.code != 0 {
		t.Fatalf("remove over TLS: exit %d: %s", r.code, r.stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"GET /v1/transfers Bearer s3cret ", "POST /v1/cluster/remove/node-b  alice"}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("HTTP requests %q, want %q", seen, want)
	}
}
