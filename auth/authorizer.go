package auth

import (
	"sync/atomic"
)

// Authorizer decides requests against an auth file it can reload while
// the node runs. It is safe for concurrent use: a reload swaps the whole
// table at once, so a request sees either the old table or the new one.
type Authorizer struct {
	path  string
	table atomic.Pointer[Table] // nil: no auth file
}

// NewAuthorizer loads the auth file at path; an empty path means the node
// has no auth file (every verified client certificate has every role, no
// token is accepted).
func NewAuthorizer(path string) (*Authorizer, error) {
	a := &Authorizer{path: path}
	if path == "" {
		return a, nil
	}
	t, err := Load(path)
	if err != nil {
		return nil, err
	}
	a.table.Store(t)
	return a, nil
}

// NewStaticAuthorizer returns an authorizer of the table t (nil: no auth
// file), with nothing to reload: for tests and embedded nodes.
func NewStaticAuthorizer(t *Table) *Authorizer {
	a := &Authorizer{}
	if t != nil {
		a.table.Store(t)
	}
	return a
}

// Path returns the auth file's path, empty when there is none.
func (a *Authorizer) Path() string { return a.path }

// Reload reads the auth file again (on SIGHUP). A file that does not load
// leaves the current table in force, and its error is returned. Without
// an auth file Reload does nothing.
func (a *Authorizer) Reload() error {
	if a.path == "" {
		return nil
	}
	t, err := Load(a.path)
	if err != nil {
		return err
	}
	a.table.Store(t)
	return nil
}

// Table returns the table in force, nil without an auth file.
func (a *Authorizer) Table() *Table { return a.table.Load() }

// Authorize decides c against the table in force; see the package-level
// Authorize.
func (a *Authorizer) Authorize(c Credentials, need Role) (Identity, error) {
	return Authorize(a.table.Load(), c, need)
}
