package auth

import (
	"strings"
	"testing"
)

func TestAppendToken(t *testing.T) {
	entry := TokenEntry{Name: "new", SHA256: HashToken("chorus_new"), Roles: Roles(Read | Write)}
	old := "    sha256: " + hashA + "\n    roles: [read]\n"
	tests := []struct {
		name, in      string
		wantRewritten bool
		keep          string // text the edit must keep (a comment)
	}{
		{"empty file", "", false, ""},
		{"users only", "# who may connect\nusers:\n  - name: alice\n    roles: [read]\n", false, "# who may connect"},
		{"no final newline", "users:\n  - name: alice\n    roles: [read]", false, ""},
		{"canonical empty", string((&File{Users: []User{{"alice", Roles(Read)}}}).Encode()), false, ""},
		{"tokens last", "# tokens\ntokens:\n  - name: ci # the CI job\n" + old, false, "# the CI job"},
		{"tokens last, flush", "tokens:\n- name: ci # the CI job\n  sha256: " + hashA + "\n  roles: [read]\n", false, "# the CI job"},
		{"tokens first", "tokens: # bearer tokens\n  - name: ci\n" + old + "users: # CNs\n  - name: alice\n    roles: [read]\n", false, "tokens: # bearer tokens\n"},
		{"tokens first, flush", "tokens:\n- name: ci\n  sha256: " + hashA + "\n  roles: [read]\nusers: []\n", false, ""},
		{"tokens empty, first", "tokens: [] # none yet\nusers: [] # nor these\n", false, "tokens: # none yet\n"},
		{"flow style", "tokens: [{name: ci, sha256: " + hashA + ", roles: [read]}]\nusers: [] # gone\n", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			out, rewritten, err := AppendToken([]byte(tt.in), entry)
			if err != nil {
				t.Fatal(err)
			}
			if rewritten != tt.wantRewritten {
				t.Errorf("rewritten = %v, want %v:\n%s", rewritten, tt.wantRewritten, out)
			}
			after, err := Decode(out)
			if err != nil {
				t.Fatalf("the result does not decode: %v\n%s", err, out)
			}
			want := &File{Users: before.Users, Tokens: append(before.Tokens, entry)}
			if !sameEntries(after, want) {
				t.Errorf("result holds %+v, want %+v:\n%s", after, want, out)
			}
			if !strings.Contains(string(out), tt.keep) {
				t.Errorf("result lost %q:\n%s", tt.keep, out)
			}
		})
	}
}

func TestAppendTokenRefuses(t *testing.T) {
	file := "tokens:\n  - name: ci\n    sha256: " + HashTokenHex("chorus_ci") + "\n    roles: [read]\n"
	for _, tt := range []struct {
		name, in string
		e        TokenEntry
		want     string
	}{
		{"same name", file, TokenEntry{Name: "ci", SHA256: HashToken("other"), Roles: Roles(Read)}, `already has a token named "ci"`},
		{"same token", file, TokenEntry{Name: "cd", SHA256: HashToken("chorus_ci"), Roles: Roles(Read)}, `already has this token, named "ci"`},
		{"bad file", "tokens: [\n", TokenEntry{Name: "cd", Roles: Roles(Read)}, "yaml"},
		{"empty name", "", TokenEntry{Roles: Roles(Read)}, "name is empty"},
		{"no roles", "", TokenEntry{Name: "x"}, "no roles"},
	} {
		if _, _, err := AppendToken([]byte(tt.in), tt.e); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: AppendToken = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}
