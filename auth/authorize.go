package auth

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Errors of Authorize, wrapped with a message that names the identity
// and, for ErrForbidden, the role needed.
var (
	// ErrUnauthenticated: the request presented no credentials, or a
	// token nobody knows (HTTP 401, gRPC Unauthenticated).
	ErrUnauthenticated = errors.New("auth: unauthenticated")
	// ErrForbidden: the request's identity is known but lacks the role
	// the request needs (HTTP 403, gRPC PermissionDenied).
	ErrForbidden = errors.New("auth: forbidden")
)

// Table is a loaded auth file, ready for lookups. It is immutable and
// safe for concurrent use.
type Table struct {
	file  *File
	users map[string]Roles
}

// NewTable returns the table of f, which must have passed Decode's
// checks (Decode's result always has).
func NewTable(f *File) *Table {
	t := &Table{file: f, users: make(map[string]Roles, len(f.Users))}
	for _, u := range f.Users {
		t.users[u.Name] = u.Roles
	}
	return t
}

// maxFileSize bounds an auth file: a million entries fit; a larger file
// is a mistake (the wrong path), not a policy.
const maxFileSize = 64 << 20

// Load reads and decodes the auth file at path.
func Load(path string) (*Table, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	f, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("auth: %s: %w", path, err)
	}
	return NewTable(f), nil
}

// readFile reads the auth file at path, refusing one over maxFileSize.
func readFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("auth: %s is %d bytes, more than an auth file's %d", path, fi.Size(), maxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return data, nil
}

// File returns the decoded file the table was built from. The caller must
// not modify it.
func (t *Table) File() *File { return t.file }

// Credentials are what a request presents.
type Credentials struct {
	// CommonName is the subject common name of the client certificate
	// the TLS layer verified against the cluster CA; empty when the
	// connection is not TLS or presented no certificate.
	CommonName string
	// Token is the bearer token of the request's Authorization header
	// (gRPC: "authorization" metadata), without the "Bearer " scheme;
	// empty when none was given.
	Token string
}

// Identity is who a request is, once authenticated.
type Identity struct {
	// Name is the certificate's common name or the token's name in the
	// auth file.
	Name string
	// ByToken tells a token's identity from a certificate's.
	ByToken bool
	// Roles are the identity's roles.
	Roles Roles
}

// String names the identity for messages and logs: user "alice" (a
// certificate) or token "ci".
func (id Identity) String() string {
	if id.ByToken {
		return "token " + strconv.Quote(id.Name)
	}
	return "user " + strconv.Quote(id.Name)
}

// Authenticate returns the identity of c under t (nil when the node has
// no auth file), or an error wrapping ErrUnauthenticated or, for a
// verified certificate the file does not list, ErrForbidden. See the
// package documentation for the rules.
func Authenticate(t *Table, c Credentials) (Identity, error) {
	switch {
	case c.Token != "" && t == nil:
		return Identity{}, fmt.Errorf("%w: no auth file: tokens are not configured", ErrUnauthenticated)
	case c.Token != "":
		i := lookupToken(t.file.Tokens, c.Token)
		if i < 0 {
			return Identity{}, fmt.Errorf("%w: unknown bearer token", ErrUnauthenticated)
		}
		e := t.file.Tokens[i]
		return Identity{Name: e.Name, ByToken: true, Roles: e.Roles}, nil
	case c.CommonName != "" && t == nil:
		return Identity{Name: c.CommonName, Roles: AllRoles}, nil
	case c.CommonName != "":
		roles, ok := t.users[c.CommonName]
		if !ok {
			return Identity{}, fmt.Errorf("%w: user %q is not in the auth file", ErrForbidden, c.CommonName)
		}
		return Identity{Name: c.CommonName, Roles: roles}, nil
	}
	return Identity{}, fmt.Errorf("%w: no credentials: present a client certificate or a bearer token", ErrUnauthenticated)
}

// Authorize authenticates c as Authenticate does and checks that the
// identity has role need. need 0 asks for authentication only (a route
// that does not exist still answers 401 to a stranger, and 404 to anyone
// known).
func Authorize(t *Table, c Credentials, need Role) (Identity, error) {
	id, err := Authenticate(t, c)
	if err != nil {
		return id, err
	}
	if need != 0 && !id.Roles.Has(need) {
		return id, fmt.Errorf("%w: %s has roles %s; this request needs role %s", ErrForbidden, id, id.Roles, need)
	}
	return id, nil
}
