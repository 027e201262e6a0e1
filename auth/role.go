package auth

import (
	"fmt"
	"strings"
)

// Role is one permission a request may need.
type Role uint8

// The roles. Each is a bit of a Roles set.
const (
	// Read reads keys and the cluster's read-only views.
	Read Role = 1 << iota
	// Write puts and deletes keys.
	Write
	// Admin changes membership and reads pprof and, unless the node
	// serves them openly, the metrics.
	Admin
)

// allRoles lists the roles in the order they print.
var allRoles = []Role{Read, Write, Admin}

// String returns the role's name as the auth file spells it.
func (r Role) String() string {
	switch r {
	case Read:
		return "read"
	case Write:
		return "write"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// ParseRole returns the role named s ("read", "write" or "admin").
func ParseRole(s string) (Role, error) {
	for _, r := range allRoles {
		if s == r.String() {
			return r, nil
		}
	}
	return 0, fmt.Errorf("auth: unknown role %q (known: read, write, admin)", s)
}

// Roles is a set of roles.
type Roles uint8

// AllRoles holds every role: what a verified client certificate has when
// the node has no auth file.
const AllRoles = Roles(Read | Write | Admin)

// Has reports whether s holds r.
func (s Roles) Has(r Role) bool { return s&Roles(r) == Roles(r) }

// With returns s with r added.
func (s Roles) With(r Role) Roles { return s | Roles(r) }

// String lists the roles of s, comma-separated ("read,write"); "none"
// for the empty set.
func (s Roles) String() string {
	if s == 0 {
		return "none"
	}
	return strings.Join(s.names(), ",")
}

// ParseRoles parses a comma-separated list of role names ("read,write").
// Spaces around names are ignored; an empty list, an empty name and an
// unknown name are errors.
func ParseRoles(list string) (Roles, error) {
	var s Roles
	for name := range strings.SplitSeq(list, ",") {
		r, err := ParseRole(strings.TrimSpace(name))
		if err != nil {
			return 0, err
		}
		s = s.With(r)
	}
	return s, nil
}

// names returns the names of s in order, for the auth file.
func (s Roles) names() []string {
	var out []string
	for _, r := range allRoles {
		if s.Has(r) {
			out = append(out, r.String())
		}
	}
	return out
}
