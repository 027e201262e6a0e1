package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testTable(t *testing.T) *Table {
	t.Helper()
	f, err := Decode([]byte(`
users:
  - name: alice
    roles: [read, write]
  - name: root
    roles: [read, write, admin]
tokens:
  - name: ci
    sha256: ` + HashTokenHex("chorus_ci-secret") + `
    roles: [read]
  - name: alice
    sha256: ` + HashTokenHex("chorus_alice-secret") + `
    roles: [write]
`))
	if err != nil {
		t.Fatal(err)
	}
	return NewTable(f)
}

func TestAuthorizeRules(t *testing.T) {
	table := testTable(t)
	tests := []struct {
		name    string
		table   *Table
		creds   Credentials
		need    Role
		wantErr error
		want    Identity
		msg     string // substring of the error
	}{
		// Without an auth file.
		{name: "no file: certificate has every role", creds: Credentials{CommonName: "anyone"}, need: Admin,
			want: Identity{Name: "anyone", Roles: AllRoles}},
		{name: "no file: token refused", creds: Credentials{Token: "chorus_ci-secret"}, need: Read,
			wantErr: ErrUnauthenticated, msg: "no auth file: tokens are not configured"},
		{name: "no file: token beside a certificate refused", creds: Credentials{CommonName: "anyone", Token: "x"}, need: Read,
			wantErr: ErrUnauthenticated, msg: "tokens are not configured"},
		{name: "no file: nothing", need: Read, wantErr: ErrUnauthenticated, msg: "no credentials"},
		// With an auth file: certificates.
		{name: "listed user with role", table: table, creds: Credentials{CommonName: "alice"}, need: Write,
			want: Identity{Name: "alice", Roles: Roles(Read | Write)}},
		{name: "listed user without role", table: table, creds: Credentials{CommonName: "alice"}, need: Admin,
			wantErr: ErrForbidden, msg: `user "alice" has roles read,write; this request needs role admin`},
		{name: "unlisted user", table: table, creds: Credentials{CommonName: "mallory"}, need: Read,
			wantErr: ErrForbidden, msg: `user "mallory" is not in the auth file`},
		{name: "unlisted user, authentication only", table: table, creds: Credentials{CommonName: "mallory"},
			wantErr: ErrForbidden},
		// With an auth file: tokens.
		{name: "token with role", table: table, creds: Credentials{Token: "chorus_ci-secret"}, need: Read,
			want: Identity{Name: "ci", ByToken: true, Roles: Roles(Read)}},
		{name: "token without role", table: table, creds: Credentials{Token: "chorus_ci-secret"}, need: Write,
			wantErr: ErrForbidden, msg: `token "ci" has roles read; this request needs role write`},
		{name: "unknown token", table: table, creds: Credentials{Token: "chorus_guess"}, need: Read,
			wantErr: ErrUnauthenticated, msg: "unknown bearer token"},
		{name: "token wins over certificate", table: table, creds: Credentials{CommonName: "root", Token: "chorus_ci-secret"}, need: Admin,
			wantErr: ErrForbidden, msg: `token "ci"`},
		{name: "unknown token beside a good certificate", table: table, creds: Credentials{CommonName: "root", Token: "nope"}, need: Read,
			wantErr: ErrUnauthenticated},
		{name: "token named like a user keeps its own roles", table: table, creds: Credentials{Token: "chorus_alice-secret"}, need: Read,
			wantErr: ErrForbidden, msg: `token "alice" has roles write`},
		{name: "file: nothing", table: table, need: Read, wantErr: ErrUnauthenticated},
		{name: "authentication only", table: table, creds: Credentials{Token: "chorus_ci-secret"},
			want: Identity{Name: "ci", ByToken: true, Roles: Roles(Read)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := Authorize(tt.table, tt.creds, tt.need)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Authorize = %v, %v; want error %v", id, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("error %q does not contain %q", err, tt.msg)
				}
				if tt.creds.Token != "" && strings.Contains(err.Error(), tt.creds.Token) {
					t.Errorf("error %q echoes the token", err)
				}
				return
			}
			if err != nil || id != tt.want {
				t.Fatalf("Authorize = %+v, %v; want %+v", id, err, tt.want)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	s, err := ParseRoles("read, admin")
	if err != nil || s != Roles(Read|Admin) || s.String() != "read,admin" {
		t.Errorf("ParseRoles(read, admin) = %v (%d), %v", s, s, err)
	}
	for _, bad := range []string{"", "read,", "reader", "READ"} {
		if _, err := ParseRoles(bad); err == nil {
			t.Errorf("ParseRoles(%q) succeeded", bad)
		}
	}
	if Roles(0).String() != "none" || !AllRoles.Has(Admin) || Roles(Read).Has(Write) {
		t.Error("Roles set operations are wrong")
	}
}

func TestTokens(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b {
		t.Fatal("two tokens are equal")
	}
	if !strings.HasPrefix(a, TokenPrefix) || len(a) != len(TokenPrefix)+43 {
		t.Errorf("token %q: want %s and 43 base64url characters", a, TokenPrefix)
	}
	if got := HashTokenHex("hello"); got != hashA {
		t.Errorf("HashTokenHex(hello) = %s, want %s", got, hashA)
	}
	entries := []TokenEntry{{Name: "a", SHA256: HashToken("x")}, {Name: "b", SHA256: HashToken("y")}, {Name: "c", SHA256: HashToken("z")}}
	for tok, want := range map[string]int{"x": 0, "y": 1, "z": 2, "w": -1, "": -1} {
		if got := lookupToken(entries, tok); got != want {
			t.Errorf("lookupToken(%q) = %d, want %d", tok, got, want)
		}
	}
	if got := lookupToken(nil, "x"); got != -1 {
		t.Errorf("lookupToken in no entries = %d", got)
	}
}

func TestAuthorizerReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("users:\n  - name: alice\n    roles: [read]\n")
	a, err := NewAuthorizer(path)
	if err != nil {
		t.Fatal(err)
	}
	alice := Credentials{CommonName: "alice"}
	if _, err := a.Authorize(alice, Write); !errors.Is(err, ErrForbidden) {
		t.Fatalf("before reload: %v, want forbidden", err)
	}
	write("users:\n  - name: alice\n    roles: [read, write]\n")
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authorize(alice, Write); err != nil {
		t.Fatalf("after reload: %v", err)
	}
	// A bad file keeps the table in force and says why.
	write("users:\n  - name: alice\n    roles: [red]\n")
	if err := a.Reload(); err == nil || !strings.Contains(err.Error(), `unknown role "red"`) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Reload of a bad file = %v, want an error naming the file and the role", err)
	}
	if _, err := a.Authorize(alice, Write); err != nil {
		t.Fatalf("after a failed reload: %v, want the old table still in force", err)
	}
	os.Remove(path)
	if err := a.Reload(); err == nil {
		t.Fatal("Reload of a missing file succeeded")
	}
	if _, err := a.Authorize(alice, Write); err != nil {
		t.Fatalf("after a failed reload: %v", err)
	}

	if _, err := NewAuthorizer(path); err == nil {
		t.Error("NewAuthorizer of a missing file succeeded")
	}
	none, err := NewAuthorizer("")
	if err != nil || none.Table() != nil || none.Reload() != nil {
		t.Fatalf("NewAuthorizer(\"\") = %v, %v", none, err)
	}
	if id, err := none.Authorize(alice, Admin); err != nil || id.Roles != AllRoles {
		t.Errorf("without a file: %+v, %v; want every role", id, err)
	}
}
