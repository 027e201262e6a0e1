package server

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/chorusdb/chorus/auth"
	"github.com/chorusdb/chorus/certs"
)

// Authorizer decides whether a request's credentials may do what it
// asks; *auth.Authorizer is the node's (its Reload re-reads the auth
// file). Authorize must be safe for concurrent use and must not block:
// it runs on every client request. Its errors wrap auth.ErrUnauthenticated
// or auth.ErrForbidden; any other error is answered as unauthenticated.
type Authorizer interface {
	Authorize(c auth.Credentials, need auth.Role) (auth.Identity, error)
}

// AuthConfig turns on authorization of the client APIs: HTTP (every route
// but /healthz and /readyz, and /metrics with OpenMetrics) and the client
// gRPC listener's KV service. Config.Auth nil serves every request to
// anyone, as a node started with --insecure does.
type AuthConfig struct {
	// Authorizer decides each request. Required.
	Authorizer Authorizer
	// OpenMetrics serves /metrics without the admin role, and without
	// credentials, for a scraper that has neither.
	OpenMetrics bool
	// PlaintextTokens accepts bearer tokens on connections without TLS.
	// Off (the default), such a token is refused: a node that checks
	// credentials serves its client APIs over TLS, and a token that
	// arrives in plaintext is a client misconfigured into leaking it.
	// Tests turn it on to use tokens over loopback plaintext.
	PlaintextTokens bool
}

// Validate reports a missing Authorizer.
func (c *AuthConfig) Validate() error {
	if c.Authorizer == nil {
		return fmt.Errorf("auth: Authorizer is required")
	}
	return nil
}

// Why a request was refused, as chorus_auth_denied_total's reason label.
const (
	deniedUnauthenticated = "unauthenticated"
	deniedForbidden       = "forbidden"
)

// bearerToken returns the token of the Authorization header values vals
// (HTTP headers or gRPC metadata), "" when there are none. The scheme is
// matched case-insensitively, as RFC 7235 has it.
func bearerToken(vals []string) (string, error) {
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", fmt.Errorf("authorization given %d times", len(vals))
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// The scheme is the client's input, but never the secret: quote
		// it, bounded, so a confused client sees what it sent.
		return "", fmt.Errorf("authorization scheme %s is not supported: use Bearer", quoteInput(scheme))
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", fmt.Errorf("authorization: empty bearer token")
	}
	return token, nil
}

// credentials assembles what a request presents: the user of the client
// certificate the TLS layer verified with the client role (certs.Identity;
// a node certificate or one no chain vouches for is no identity), and the
// token of its authorization values. cs is nil over plaintext, where a
// token is refused unless the config allows it.
func (c *AuthConfig) credentials(cs *tls.ConnectionState, authz []string) (auth.Credentials, error) {
	token, err := bearerToken(authz)
	if err != nil {
		return auth.Credentials{}, err
	}
	if token != "" && cs == nil && !c.PlaintextTokens {
		return auth.Credentials{}, fmt.Errorf("bearer tokens are accepted over TLS only")
	}
	user, _ := certs.Identity(cs)
	return auth.Credentials{CommonName: user, Token: token}, nil
}

// denialMessage is the message of a refusal: the authorizer's, without
// the package prefix, which means nothing to a client.
func denialMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "auth: ")
}
