// Package auth decides who may do what on a Chorus node: the roles read,
// write and admin; the auth file that grants them to client certificate
// names and to bearer tokens; and the decision for one request.
//
// # The auth file
//
// The file (chorus node --auth-file) is YAML:
//
//	users:            # client certificate common names
//	  - name: alice
//	    roles: [read, write]
//	tokens:           # bearer tokens, stored hashed
//	  - name: ci
//	    sha256: <hex of sha256(token)>
//	    roles: [read]
//
// It is decoded strictly: an unknown key, an unknown role, an entry
// without a name or roles, a malformed hash and a name or hash given
// twice are errors that name the entry (users[1] "alice"). A file that
// does not decode is never half applied: Authorizer.Reload keeps the
// table it had and returns the error.
//
// # Tokens
//
// NewToken draws 32 bytes from crypto/rand, so a token has 256 bits of
// entropy; the file keeps only its SHA-256. A fast hash is right for such
// tokens: guessing a preimage of a 256-bit random value is as hopeless at
// a billion hashes a second as at ten, so a slow hash adds nothing.
// bcrypt, scrypt and argon2 exist to protect low-entropy passwords from
// dictionary attacks, and would cost milliseconds of CPU on every
// request. Lookup hashes the presented token and compares it with every
// stored hash in constant time (crypto/subtle), always all of them, so
// the time taken says neither which entry matched nor how close a guess
// came.
//
// # The decision
//
// Authorize is a pure function of the table (nil: no auth file), the
// request's credentials and the role it needs:
//
//   - A bearer token, when one is presented, is the identity, even beside
//     a client certificate: without an auth file no token is accepted
//     (Unauthenticated, "no auth file: tokens are not configured"); with
//     one, an unknown token is Unauthenticated and a known one has the
//     roles of its entry.
//   - Otherwise the common name of a client certificate the TLS layer
//     verified against the cluster CA is the identity. Without an auth
//     file it has every role; with one it has the roles of its users
//     entry, and a name the file does not list is Forbidden.
//   - No credentials: Unauthenticated.
//   - An identity without the role the request needs: Forbidden, naming
//     the identity and the role.
//
// Errors wrap ErrUnauthenticated or ErrForbidden (HTTP 401 and 403, gRPC
// Unauthenticated and PermissionDenied). Their messages never echo a
// token.
package auth
