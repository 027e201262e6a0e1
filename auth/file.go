package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// File is the content of an auth file.
type File struct {
	// Users grant roles to client certificates by common name.
	Users []User
	// Tokens grant roles to bearer tokens, known by their hash.
	Tokens []TokenEntry
}

// User is one users entry: a client certificate common name and its
// roles.
type User struct {
	Name  string
	Roles Roles
}

// TokenEntry is one tokens entry: a token's name (who holds it, for logs
// and error messages), the SHA-256 of the token's text and its roles.
type TokenEntry struct {
	Name   string
	SHA256 [sha256.Size]byte
	Roles  Roles
}

// maxNameLen bounds a user or token name; a certificate's common name is
// at most 64 characters (RFC 5280 ub-common-name), tokens' names are ours.
const maxNameLen = 256

// Decode parses an auth file strictly: see the package documentation.
// An empty document is a file with no users and no tokens.
func Decode(data []byte) (*File, error) {
	f, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return f, nil
}

// decode is Decode without the package prefix on its errors.
func decode(data []byte) (*File, error) {
	// YAMLToJSONStrict refuses duplicate keys and reports YAML syntax
	// errors with their line; the JSON it returns is walked by hand
	// rather than by encoding/json's struct decoding, which matches keys
	// case-insensitively ("Roles" would pass for "roles").
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		// yaml.v2 lists its errors one per line; one line reads better
		// in a log or after "exit 2".
		return nil, errors.New(strings.Join(strings.Fields(err.Error()), " "))
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return &File{}, nil
	}
	top, err := object(js, "the file", "users", "tokens")
	if err != nil {
		return nil, err
	}
	f := &File{}
	if f.Users, err = decodeList(top["users"], "users", decodeUser); err != nil {
		return nil, err
	}
	if f.Tokens, err = decodeList(top["tokens"], "tokens", decodeToken); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}

// check refuses duplicates: a name given twice within users or within
// tokens, and a token hash given twice (two names for one token would
// make its identity ambiguous).
func (f *File) check() error {
	users := map[string]int{}
	for i, u := range f.Users {
		if j, dup := users[u.Name]; dup {
			return fmt.Errorf("users[%d] and users[%d] both name %q", j, i, u.Name)
		}
		users[u.Name] = i
	}
	names, hashes := map[string]int{}, map[[sha256.Size]byte]int{}
	for i, t := range f.Tokens {
		if j, dup := names[t.Name]; dup {
			return fmt.Errorf("tokens[%d] and tokens[%d] both name %q", j, i, t.Name)
		}
		if j, dup := hashes[t.SHA256]; dup {
			return fmt.Errorf("tokens[%d] %q and tokens[%d] %q have the same sha256", j, f.Tokens[j].Name, i, t.Name)
		}
		names[t.Name], hashes[t.SHA256] = i, i
	}
	return nil
}

// object decodes js as a JSON object whose keys are all among known.
func object(js json.RawMessage, what string, known ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%s: want a mapping with keys %s", what, strings.Join(known, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("%s: unknown key %q (known: %s)", what, k, strings.Join(known, ", "))
		}
	}
	return m, nil
}

// decodeList decodes js, a list (or absent, or null), entry by entry.
func decodeList[T any](js json.RawMessage, what string, entry func(json.RawMessage, string) (T, error)) ([]T, error) {
	if js == nil || string(js) == "null" {
		return nil, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, fmt.Errorf("%s: want a list of entries", what)
	}
	out := make([]T, 0, len(raw))
	for i, r := range raw {
		e, err := entry(r, fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func decodeUser(js json.RawMessage, where string) (User, error) {
	m, err := object(js, where, "name", "roles")
	if err != nil {
		return User{}, err
	}
	var u User
	if u.Name, err = nameField(m, where); err != nil {
		return User{}, err
	}
	where = fmt.Sprintf("%s %q", where, u.Name)
	u.Roles, err = rolesField(m, where)
	return u, err
}

func decodeToken(js json.RawMessage, where string) (TokenEntry, error) {
	m, err := object(js, where, "name", "sha256", "roles")
	if err != nil {
		return TokenEntry{}, err
	}
	var t TokenEntry
	if t.Name, err = nameField(m, where); err != nil {
		return TokenEntry{}, err
	}
	where = fmt.Sprintf("%s %q", where, t.Name)
	h, err := stringField(m, "sha256", where)
	if err != nil {
		return TokenEntry{}, err
	}
	if t.SHA256, err = ParseHash(h); err != nil {
		return TokenEntry{}, fmt.Errorf("%s: sha256: %w", where, err)
	}
	t.Roles, err = rolesField(m, where)
	return t, err
}

// ParseHash parses the hex of a SHA-256 (64 hex digits, either case).
func ParseHash(s string) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	if len(s) != hex.EncodedLen(sha256.Size) {
		return h, fmt.Errorf("want 64 hex digits, got %d characters", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, errors.New("want 64 hex digits")
	}
	return h, nil
}

// stringField returns the string at key, which must be present.
func stringField(m map[string]json.RawMessage, key, where string) (string, error) {
	js, ok := m[key]
	if !ok || string(js) == "null" {
		return "", fmt.Errorf("%s: %s is missing", where, key)
	}
	var s string
	if err := json.Unmarshal(js, &s); err != nil {
		return "", fmt.Errorf("%s: %s must be a string (quote it)", where, key)
	}
	return s, nil
}

func nameField(m map[string]json.RawMessage, where string) (string, error) {
	s, err := stringField(m, "name", where)
	if err != nil {
		return "", err
	}
	if err := checkName(s); err != nil {
		return "", fmt.Errorf("%s: name %w", where, err)
	}
	return s, nil
}

// checkName refuses names that would be ambiguous or unreadable in logs
// and error messages.
func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case len(s) > maxNameLen:
		return fmt.Errorf("is %d bytes long (at most %d)", len(s), maxNameLen)
	case !utf8.ValidString(s):
		return errors.New("is not valid UTF-8")
	case strings.ContainsFunc(s, unicode.IsControl):
		return errors.New("holds a control character")
	}
	return nil
}

func rolesField(m map[string]json.RawMessage, where string) (Roles, error) {
	js, ok := m["roles"]
	if !ok || string(js) == "null" {
		return 0, fmt.Errorf("%s: roles is missing (give at least one of read, write, admin)", where)
	}
	var names []string
	if err := json.Unmarshal(js, &names); err != nil {
		return 0, fmt.Errorf("%s: roles must be a list of role names, such as [read, write]", where)
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("%s: roles is empty (give at least one of read, write, admin)", where)
	}
	var s Roles
	for _, n := range names {
		r, err := ParseRole(n)
		if err != nil {
			return 0, fmt.Errorf("%s: unknown role %q (known: read, write, admin)", where, n)
		}
		if s.Has(r) {
			return 0, fmt.Errorf("%s: role %q listed twice", where, n)
		}
		s = s.With(r)
	}
	return s, nil
}

// Encode returns f as an auth file that Decode reads back to f. Names are
// written as JSON strings, which YAML reads as double-quoted scalars.
func (f *File) Encode() []byte {
	var b bytes.Buffer
	b.WriteString("users:")
	if len(f.Users) == 0 {
		b.WriteString(" []")
	}
	b.WriteString("\n")
	for _, u := range f.Users {
		fmt.Fprintf(&b, "  - name: %s\n    roles: %s\n", quote(u.Name), rolesList(u.Roles))
	}
	b.WriteString("tokens:")
	if len(f.Tokens) == 0 {
		b.WriteString(" []")
	}
	b.WriteString("\n")
	for _, t := range f.Tokens {
		b.WriteString(t.entryText())
	}
	return b.Bytes()
}

// entryText is t as an item of the tokens list, indented by two spaces.
func (t TokenEntry) entryText() string {
	return fmt.Sprintf("  - name: %s\n    sha256: %q\n    roles: %s\n", quote(t.Name), hex.EncodeToString(t.SHA256[:]), rolesList(t.Roles))
}

func quote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

func rolesList(s Roles) string { return "[" + strings.Join(s.names(), ", ") + "]" }
