// Package certs issues and loads the certificates of a Chorus cluster and
// builds the TLS configurations of its listeners and dialers, with the
// standard library only (crypto/x509, crypto/ecdsa, crypto/tls).
//
// # Files
//
// A certificates directory holds ca.crt and ca.key (the cluster CA),
// gossip.key (base64 of 32 random bytes: the gossip encryption key),
// node.crt and node.key (a node), and client.USER.crt and client.USER.key
// (a client user). CreateCA, CreateNode and CreateClient write them; keys
// are ECDSA P-256 in PKCS #8 PEM, mode 0600; serial numbers are 128
// random bits; every file is written to a temporary name and renamed, so a
// node reloading never reads half a file. The Create functions refuse to
// replace a file unless CreateOptions.Overwrite is set.
//
// # Roles
//
// The role of a certificate is its OrganizationalUnit. A node certificate
// (OU "node", CN the node name) has both server and client ExtKeyUsage and
// one subject alternative name per host the node is reached at (IP
// address or DNS name). A client certificate (OU "client", CN the user
// name) has client ExtKeyUsage only, so it cannot serve. The CA is valid
// DefaultCALifetime (10 years), other certificates DefaultCertLifetime (1
// year) and never longer than the CA.
//
// # Guarantees
//
//   - Every config is TLS 1.3 only.
//   - ClientListener accepts a connection without a client certificate
//     (authorization is then by bearer token, per request). A presented
//     certificate must chain to the current CA, be valid now and carry the
//     client role; otherwise the handshake fails and the Node's logger
//     gets one line saying who (remote address, CN, OU, issuer, serial)
//     and why (not signed by the cluster CA, expired at DATE, a node
//     certificate used as a client). Identity returns the CN of an
//     accepted certificate, and nothing for any certificate a listener
//     did not verify.
//   - PeerListener requires a certificate of the current CA with the node
//     role, and refuses anything else the same way.
//   - PeerDial presents the node certificate and accepts only a server
//     certificate of the current CA with the node role. It also checks
//     that the certificate names the server dialed, whenever TLS knows that
//     name: a DNS name (sent as SNI), or the config's own ServerName
//     (PeerDialTo). An IP address set by gRPC on its clone of a shared
//     config is not visible to the check (crypto/tls sends no IP as SNI).
//   - LoadNode and Reload accept only a CA certificate, and a node
//     certificate signed by it, with the node role, valid now, matching
//     its key; errors name the file and the reason.
//   - Reload swaps the credentials atomically: the configs already handed
//     out read them at each handshake (GetConfigForClient,
//     GetClientCertificate, VerifyConnection), so new connections use the
//     new CA and certificate without rebuilding a server or a config;
//     established connections are left alone. A Reload that fails keeps
//     the previous credentials. Session tickets are off on the listeners,
//     so every connection is checked against the current CA.
//   - LoadClient trusts ca.crt and presents client.USER.crt/.key when both
//     exist; with neither it presents nothing (token authentication).
package certs
