package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/chorusdb/chorus/auth"
	"github.com/chorusdb/chorus/server"
)

func TestAuthCreateToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.yaml")
	r := runCLI(t, "", "auth", "create-token", "ci", "--roles", "read,write", "--auth-file", path)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	token := strings.TrimSuffix(r.stdout, "\n")
	if !strings.HasPrefix(token, auth.TokenPrefix) || strings.Contains(token, "\n") {
		t.Fatalf("stdout %q: want the token alone on one line", r.stdout)
	}
	if !strings.Contains(r.stderr, "shown only this once") {
		t.Errorf("stderr %q does not warn that the token is shown once", r.stderr)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("auth file: %v, %v; want mode 0600", fi, err)
	}
	table, err := auth.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	id, err := auth.Authorize(table, auth.Credentials{Token: token}, auth.Write)
	if err != nil || id.Name != "ci" {
		t.Fatalf("the new token: %+v, %v; want token ci with write", id, err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), token) {
		t.Fatal("the file holds the token itself, not only its hash")
	}

	// A second token keeps the first and the operator's comments.
	if err := os.WriteFile(path, append([]byte("# managed by ops\n"), raw...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "", "auth", "create-token", "deploy", "--roles", "admin", "--auth-file", path)
	if r.code != exitOK {
		t.Fatalf("second token: exit %d: %s", r.code, r.stderr)
	}
	raw, _ = os.ReadFile(path)
	if !strings.HasPrefix(string(raw), "# managed by ops\n") {
		t.Errorf("the comment was lost:\n%s", raw)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's own 0640 kept", fi.Mode().Perm())
	}
	table, err = auth.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authorize(table, auth.Credentials{Token: token}, auth.Write); err != nil {
		t.Errorf("the first token after the second was added: %v", err)
	}
	if n := len(table.File().Tokens); n != 2 {
		t.Errorf("%d tokens in the file, want 2", n)
	}

	// A duplicate name is refused and leaves the file as it was.
	r = runCLI(t, "", "auth", "create-token", "ci", "--roles", "read", "--auth-file", path)
	if r.code != exitUsage || !strings.Contains(r.stderr, `already has a token named "ci"`) || r.stdout != "" {
		t.Errorf("duplicate: exit %d, stdout %q, stderr %q; want exit 2 naming the duplicate and no token", r.code, r.stdout, r.stderr)
	}
	if again, _ := os.ReadFile(path); string(again) != string(raw) {
		t.Error("a refused token changed the file")
	}
}

func TestAuthUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("users:\n  - name: alice\n    roles: [reed]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "auth.yaml")
	long := strings.Repeat("x", 40)
	for _, tt := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"auth", "create-token", "ci", "--auth-file", good}, "--roles"},
		{"", []string{"auth", "create-token", "ci", "--roles", "read,reed", "--auth-file", good}, `unknown role "reed"`},
		{"", []string{"auth", "create-token", "ci", "--roles", "read"}, "--auth-file"},
		{"", []string{"auth", "create-token", "--roles", "read", "--auth-file", good}, "NAME"},
		{"", []string{"auth", "create-token", "ci", "--roles", "read", "--auth-file", bad}, `users[0] "alice": unknown role "reed"`},
		{"", []string{"auth", "create-token", "", "--roles", "read", "--auth-file", good}, "name is empty"},
		{"", []string{"auth", "create-token", "ci", "--roles", "read", "--auth-file", dir}, "not a regular file"},
		{"", []string{"auth", "hash-token"}, "no token"},
		{"short\n", []string{"auth", "hash-token"}, "too short"},
		{long + " " + long, []string{"auth", "hash-token"}, "space"},
		{strings.Repeat("y", 5000), []string{"auth", "hash-token"}, "more than 4096 bytes"},
	} {
		r := runCLI(t, tt.stdin, tt.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("chorus %s: exit %d, stderr %q; want exit 2 and one line naming %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.want)
		}
	}
	if _, err := os.Stat(good); err == nil {
		t.Error("a refused command created the auth file")
	}
}

func TestAuthHashToken(t *testing.T) {
	token := auth.NewToken()
	r := runCLI(t, token+"\n", "auth", "hash-token")
	if r.code != exitOK || r.stdout != "sha256: "+auth.HashTokenHex(token)+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// The line is an auth file's: pasted into an entry, the token works.
	file := "tokens:\n  - name: mine\n    " + strings.TrimSpace(r.stdout) + "\n    roles: [read]\n"
	f, err := auth.Decode([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authorize(auth.NewTable(f), auth.Credentials{Token: token}, auth.Read); err != nil {
		t.Errorf("the hashed token: %v", err)
	}
}

// nodeConfig parses chorus node's flags args into a server.Config.
func nodeConfig(t *testing.T, args ...string) (server.Config, error) {
	t.Helper()
	var f nodeFlags
	fl := pflag.NewFlagSet("node", pflag.ContinueOnError)
	f.register(fl)
	if err := fl.Parse(args); err != nil {
		t.Fatal(err)
	}
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, lookupEnv: func(string) (string, bool) { return "", false }}
	return f.config(e)
}

func TestNodeAuthFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.yaml")
	write := func(roles string) {
		t.Helper()
		f := "tokens:\n  - name: ci\n    sha256: " + auth.HashTokenHex("chorus_ci-token") + "\n    roles: " + roles + "\n"
		if err := os.WriteFile(path, []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("[read]")
	cfg, err := nodeConfig(t, "--in-memory", "--insecure", "--auth-file", path, "--open-metrics")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth == nil || !cfg.Auth.OpenMetrics || cfg.Auth.Authorizer == nil || !cfg.Auth.PlaintextTokens {
		t.Fatalf("Config.Auth = %+v, want an authorizer with OpenMetrics, taking tokens in plaintext (--insecure)", cfg.Auth)
	}
	ci := auth.Credentials{Token: "chorus_ci-token"}
	if _, err := cfg.Auth.Authorizer.Authorize(ci, auth.Write); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("write with a read token: %v, want forbidden", err)
	}
	write("[read, write]")
	if err := reloadAuth(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Auth.Authorizer.Authorize(ci, auth.Write); err != nil {
		t.Fatalf("after the reload: %v", err)
	}
	write("[sudo]")
	if err := reloadAuth(cfg); err == nil || !strings.Contains(err.Error(), `unknown role "sudo"`) {
		t.Fatalf("reload of a bad file: %v, want the problem named", err)
	}
	if _, err := cfg.Auth.Authorizer.Authorize(ci, auth.Write); err != nil {
		t.Fatalf("after a failed reload: %v, want the old roles in force", err)
	}

	// Without --auth-file and without TLS nothing is checked.
	cfg, err = nodeConfig(t, "--in-memory", "--insecure")
	if err != nil || cfg.Auth != nil || reloadAuth(cfg) != nil {
		t.Fatalf("without --auth-file: Auth %+v, %v; want nil", cfg.Auth, err)
	}

	// A bad file stops the node before it starts, naming the problem.
	r := runCLI(t, "", "node", "--in-memory", "--insecure", "--auth-file", path)
	if r.code != exitUsage || !strings.Contains(r.stderr, "--auth-file") || !strings.Contains(r.stderr, `unknown role "sudo"`) {
		t.Errorf("node with a bad auth file: exit %d, stderr %q; want exit 2 naming the role", r.code, r.stderr)
	}
	r = runCLI(t, "", "node", "--in-memory", "--insecure", "--auth-file", filepath.Join(t.TempDir(), "missing.yaml"))
	if r.code != exitUsage || !strings.Contains(r.stderr, "missing.yaml") {
		t.Errorf("node with a missing auth file: exit %d, stderr %q; want exit 2 naming the file", r.code, r.stderr)
	}
}

// With TLS every client certificate of the cluster's CA has every role
// unless an auth file says otherwise, and tokens are never taken over
// plaintext.
func TestNodeAuthWithTLS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	for _, args := range [][]string{{"create-ca"}, {"create-node", "node", "127.0.0.1"}} {
		if r := runCLI(t, "", append(append([]string{"certs"}, args...), "--certs-dir", dir)...); r.code != 0 {
			t.Fatalf("chorus certs %v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	cfg, err := nodeConfig(t, "--in-memory", "--certs-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth == nil || cfg.Auth.PlaintextTokens || cfg.Auth.OpenMetrics {
		t.Fatalf("Config.Auth = %+v, want an authorizer without plaintext tokens", cfg.Auth)
	}
	if id, err := cfg.Auth.Authorizer.Authorize(auth.Credentials{CommonName: "alice"}, auth.Admin); err != nil || id.Roles != auth.AllRoles {
		t.Errorf("a certificate without an auth file: %+v, %v; want every role", id, err)
	}
	if _, err := cfg.Auth.Authorizer.Authorize(auth.Credentials{Token: "chorus_x"}, auth.Read); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("a token without an auth file: %v, want unauthenticated", err)
	}

	path := filepath.Join(t.TempDir(), "auth.yaml")
	if err := os.WriteFile(path, []byte("users:\n  - name: alice\n    roles: [read]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = nodeConfig(t, "--in-memory", "--certs-dir", dir, "--auth-file", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Auth.Authorizer.Authorize(auth.Credentials{CommonName: "alice"}, auth.Write); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("alice writes with an auth file granting read: %v, want forbidden", err)
	}
}

func TestAuthJSONOutput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.yaml")
	r := runCLI(t, "", "auth", "create-token", "ci", "--roles", "write,read", "--auth-file", path, "-o", "json")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got createdToken
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout %q: %v", r.stdout, err)
	}
	if got.Name != "ci" || !strings.HasPrefix(got.Token, auth.TokenPrefix) || strings.Join(got.Roles, ",") != "read,write" || got.AuthFile != path {
		t.Errorf("create-token -o json = %+v", got)
	}
	r = runCLI(t, got.Token, "auth", "hash-token", "-o", "json")
	var h map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil || h["sha256"] != auth.HashTokenHex(got.Token) {
		t.Errorf("hash-token -o json: %q, %v", r.stdout, err)
	}
}
