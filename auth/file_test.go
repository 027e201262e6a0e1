package auth

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

const hashA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // sha256("hello")
const hashB = "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7" // sha256("world")

func TestDecodeValid(t *testing.T) {
	f, err := Decode([]byte(`
users:            # client certificate CNs
  - name: alice
    roles: [read, write]
  - name: "bob the admin"
    roles:
      - admin
tokens:
  - name: ci
    sha256: ` + hashA + `
    roles: [read]
  - name: ops
    sha256: "` + strings.ToUpper(hashB) + `"
    roles: [read, write, admin]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		Users: []User{{"alice", Roles(Read | Write)}, {"bob the admin", Roles(Admin)}},
		Tokens: []TokenEntry{
			{Name: "ci", SHA256: HashToken("hello"), Roles: Roles(Read)},
			{Name: "ops", SHA256: HashToken("world"), Roles: AllRoles},
		},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Decode = %+v, want %+v", f, want)
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, in := range []string{"", "# nobody yet\n", "users:\ntokens:\n", "users: []\ntokens: []\n"} {
		f, err := Decode([]byte(in))
		if err != nil {
			t.Errorf("Decode(%q): %v", in, err)
			continue
		}
		if len(f.Users) != 0 || len(f.Tokens) != 0 {
			t.Errorf("Decode(%q) = %+v, want no entries", in, f)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"unknown top key", "users: []\ntoken: []\n", []string{`unknown key "token"`, "users, tokens"}},
		{"top key case", "Users: []\n", []string{`unknown key "Users"`}},
		{"unknown user key", "users:\n  - name: a\n    role: [read]\n", []string{`users[0]`, `unknown key "role"`, "name, roles"}},
		{"unknown token key", "tokens:\n  - name: a\n    sha: x\n    roles: [read]\n", []string{`tokens[0]`, `unknown key "sha"`}},
		{"unknown role", "users:\n  - name: alice\n    roles: [read, reed]\n", []string{`users[0] "alice"`, `unknown role "reed"`, "read, write, admin"}},
		{"role twice", "users:\n  - name: alice\n    roles: [read, read]\n", []string{`role "read" listed twice`}},
		{"no roles", "users:\n  - name: alice\n", []string{`users[0] "alice": roles is missing`}},
		{"empty roles", "users:\n  - name: alice\n    roles: []\n", []string{`roles is empty`}},
		{"roles not a list", "users:\n  - name: alice\n    roles: read\n", []string{`roles must be a list`}},
		{"no name", "users:\n  - roles: [read]\n", []string{`users[0]: name is missing`}},
		{"empty name", "users:\n  - name: \"\"\n    roles: [read]\n", []string{`users[0]: name is empty`}},
		{"name not a string", "users:\n  - name: 12\n    roles: [read]\n", []string{`name must be a string (quote it)`}},
		{"control in name", "users:\n  - name: \"a\\tb\"\n    roles: [read]\n", []string{`control character`}},
		{"duplicate user", "users:\n  - name: alice\n    roles: [read]\n  - name: alice\n    roles: [write]\n", []string{`users[0] and users[1] both name "alice"`}},
		{"duplicate token name", "tokens:\n  - name: ci\n    sha256: " + hashA + "\n    roles: [read]\n  - name: ci\n    sha256: " + hashB + "\n    roles: [read]\n", []string{`tokens[0] and tokens[1] both name "ci"`}},
		{"duplicate hash", "tokens:\n  - name: ci\n    sha256: " + hashA + "\n    roles: [read]\n  - name: cd\n    sha256: " + strings.ToUpper(hashA) + "\n    roles: [read]\n", []string{`tokens[0] "ci" and tokens[1] "cd" have the same sha256`}},
		{"short hash", "tokens:\n  - name: ci\n    sha256: abc\n    roles: [read]\n", []string{`tokens[0] "ci": sha256: want 64 hex digits, got 3`}},
		{"bad hex", "tokens:\n  - name: ci\n    sha256: " + strings.Repeat("g", 64) + "\n    roles: [read]\n", []string{`want 64 hex digits`}},
		{"no hash", "tokens:\n  - name: ci\n    roles: [read]\n", []string{`sha256 is missing`}},
		{"duplicate yaml key", "users:\n  - name: a\n    name: b\n    roles: [read]\n", []string{"line 3"}},
		{"syntax", "users: [\n", []string{"yaml"}},
		{"not a mapping", "- a\n- b\n", []string{"want a mapping"}},
		{"users not a list", "users: alice\n", []string{"users: want a list"}},
		{"entry not a mapping", "users:\n  - alice\n", []string{"users[0]: want a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode(%q) succeeded, want an error", tt.in)
			}
			if !strings.HasPrefix(err.Error(), "auth: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	f := &File{
		Users: []User{{"alice", Roles(Read)}, {`quote"and: colon # hash`, AllRoles}, {"ünïcode <&>", Roles(Write)}},
		Tokens: []TokenEntry{
			{Name: "ci", SHA256: HashToken("x"), Roles: Roles(Read | Admin)},
			{Name: "- dash", SHA256: HashToken("y"), Roles: Roles(Write)},
		},
	}
	for _, in := range []*File{f, {}} {
		got, err := Decode(in.Encode())
		if err != nil {
			t.Fatalf("Decode(Encode()) of\n%s: %v", in.Encode(), err)
		}
		if !slices.Equal(got.Users, in.Users) || !slices.Equal(got.Tokens, in.Tokens) {
			t.Errorf("round trip of\n%s= %+v, want %+v", in.Encode(), got, in)
		}
	}
}

// FuzzDecode checks that no input makes Decode panic, that whatever it
// accepts encodes to a file that decodes to the same content, and that
// AppendToken adds to it without losing an entry.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("users:\n  - name: alice\n    roles: [read, write]\ntokens:\n  - name: ci\n    sha256: " + hashA + "\n    roles: [read]\n"))
	f.Add([]byte(""))
	f.Add([]byte("users: [{name: a, roles: [admin]}]"))
	f.Add([]byte("tokens: [{name: a, sha256: " + hashB + ", roles: [write]}]"))
	f.Add([]byte("users:\n  - name: a\n    name: b\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(data)
		if err != nil {
			return
		}
		again, err := Decode(file.Encode())
		if err != nil {
			t.Fatalf("Decode(Encode()) of %q: %v\nencoded:\n%s", data, err, file.Encode())
		}
		if !slices.Equal(again.Users, file.Users) || !slices.Equal(again.Tokens, file.Tokens) {
			t.Fatalf("round trip changed the entries: %+v -> %+v", file, again)
		}
		// Adding a token to any valid file keeps every entry it had.
		e := TokenEntry{Name: "fuzz-new-token", SHA256: HashToken("fuzz"), Roles: Roles(Write)}
		if slices.ContainsFunc(file.Tokens, func(t TokenEntry) bool { return t.Name == e.Name || t.SHA256 == e.SHA256 }) {
			return
		}
		out, _, err := AppendToken(data, e)
		if err != nil {
			t.Fatalf("AppendToken to %q: %v", data, err)
		}
		added, err := Decode(out)
		if err != nil || !sameEntries(added, &File{Users: file.Users, Tokens: append(file.Tokens, e)}) {
			t.Fatalf("AppendToken to %q gave %q (%v), which does not hold the old entries plus the new one", data, out, err)
		}
	})
}
