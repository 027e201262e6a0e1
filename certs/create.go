package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Files of a certificates directory.
const (
	// CAFile is the cluster CA's certificate: every node and client
	// trusts it.
	CAFile = "ca.crt"
	// CAKeyFile is the CA's private key. Only the machine that issues
	// certificates needs it; nodes and clients never read it.
	CAKeyFile = "ca.key"
	// GossipKeyFile holds the gossip encryption key: base64 of 32 random
	// bytes (AES-256), written by CreateCA.
	GossipKeyFile = "gossip.key"
	// NodeCertFile and NodeKeyFile are a node's certificate and key.
	NodeCertFile = "node.crt"
	NodeKeyFile  = "node.key"
)

// ClientCertFile is the certificate file of user: client.USER.crt.
func ClientCertFile(user string) string { return "client." + user + ".crt" }

// ClientKeyFile is the key file of user: client.USER.key.
func ClientKeyFile(user string) string { return "client." + user + ".key" }

// Roles, carried in a certificate's OrganizationalUnit.
const (
	// RoleNode marks a node certificate: it serves the client and peer
	// listeners and dials peers (server and client ExtKeyUsage).
	RoleNode = "node"
	// RoleClient marks a client certificate: CN is the user name, and it
	// authenticates a client only (client ExtKeyUsage).
	RoleClient = "client"
)

// Default lifetimes of CreateOptions.Lifetime. A CA outlives many
// certificates it signs, so replacing it (which every node and client must
// follow) is rare; node and client certificates are re-issued yearly and
// picked up by Node.Reload without a restart.
const (
	DefaultCALifetime   = 10 * 365 * 24 * time.Hour
	DefaultCertLifetime = 365 * 24 * time.Hour
)

// clockSkew backdates NotBefore so that a certificate issued on one
// machine is valid at once on another whose clock is a little behind.
const clockSkew = time.Hour

var (
	// ErrExists is returned by the Create functions when a file they would
	// write exists and CreateOptions.Overwrite is false.
	ErrExists = errors.New("certs: file exists (overwrite to replace it)")
	// ErrInvalid is returned for bad arguments: an empty directory, a bad
	// user name, a host that is neither an IP address nor a DNS name.
	ErrInvalid = errors.New("certs: invalid argument")
	// ErrNoCA is returned by CreateNode and CreateClient when the directory
	// lacks ca.crt or ca.key.
	ErrNoCA = errors.New("certs: no CA (create it first)")
)

// CreateOptions say where and how the Create functions write.
type CreateOptions struct {
	// Dir is the certificates directory; it is created (0700) if missing.
	Dir string
	// Lifetime is how long the certificate is valid from Now. Zero means
	// DefaultCALifetime for a CA and DefaultCertLifetime otherwise. A node
	// or client certificate never outlives its CA: NotAfter is capped at
	// the CA's.
	Lifetime time.Duration
	// Overwrite replaces existing files; without it the Create functions
	// refuse with ErrExists before writing anything.
	Overwrite bool
	// Now is the issue time. Nil means time.Now; tests move it to issue
	// certificates that are already expired.
	Now func() time.Time
}

// Validate reports an empty Dir or a negative Lifetime.
func (o CreateOptions) Validate() error {
	if o.Dir == "" {
		return fmt.Errorf("%w: no certificates directory", ErrInvalid)
	}
	if o.Lifetime < 0 {
		return fmt.Errorf("%w: negative lifetime %v", ErrInvalid, o.Lifetime)
	}
	return nil
}

func (o CreateOptions) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func (o CreateOptions) lifetime(def time.Duration) time.Duration {
	if o.Lifetime == 0 {
		return def
	}
	return o.Lifetime
}

// CreateCA writes a new cluster CA (ca.crt, ca.key 0600) and a new gossip
// key (gossip.key 0600) into opts.Dir.
func CreateCA(opts CreateOptions) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if err := checkFree(opts, CAFile, CAKeyFile, GossipKeyFile); err != nil {
		return err
	}
	now := opts.now()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"Chorus"}, CommonName: "Chorus CA"},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(opts.lifetime(DefaultCALifetime)),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// The CA signs leaves only: no intermediate can be made from it.
		MaxPathLenZero: true,
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("certs: generate CA key: %w", err)
	}
	der, err := sign(tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	gossip := make([]byte, 32)
	if _, err := rand.Read(gossip); err != nil {
		return fmt.Errorf("certs: generate gossip key: %w", err)
	}
	return writeFiles(opts.Dir, []file{
		{CAFile, pemBytes("CERTIFICATE", der), 0o644},
		{CAKeyFile, nil, 0o600},
		{GossipKeyFile, []byte(base64.StdEncoding.EncodeToString(gossip) + "\n"), 0o600},
	}, key)
}

// CreateNode writes node.crt and node.key for the node name, signed by the
// CA in opts.Dir. Each of hosts (at least one) becomes a subject
// alternative name, as an IP address or a DNS name; clients and peers
// check the address they dial against them.
func CreateNode(opts CreateOptions, name string, hosts []string) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: empty node name", ErrInvalid)
	}
	if len(hosts) == 0 {
		return fmt.Errorf("%w: node %s needs at least one host (IP address or DNS name) to be reached at", ErrInvalid, name)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"Chorus"}, OrganizationalUnit: []string{RoleNode}, CommonName: name},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if validDNSName(h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		} else {
			return fmt.Errorf("%w: host %q is neither an IP address nor a DNS name", ErrInvalid, h)
		}
	}
	return issue(opts, tmpl, NodeCertFile, NodeKeyFile)
}

// userPattern is what a user name may be: it becomes a file name and
// a certificate CN, and is matched against the auth file.
var userPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidUser reports whether user may name a client: 1 to 64 of
// A-Z a-z 0-9 . _ -, and not "." or "..".
func ValidUser(user string) bool {
	return userPattern.MatchString(user) && user != "." && user != ".."
}

// CreateClient writes client.USER.crt and client.USER.key for user, signed
// by the CA in opts.Dir.
func CreateClient(opts CreateOptions, user string) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if !ValidUser(user) {
		return fmt.Errorf("%w: user %q: want 1 to 64 of A-Z a-z 0-9 . _ -", ErrInvalid, user)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"Chorus"}, OrganizationalUnit: []string{RoleClient}, CommonName: user},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return issue(opts, tmpl, ClientCertFile(user), ClientKeyFile(user))
}

// issue signs tmpl with the CA of opts.Dir and writes it and its new key.
func issue(opts CreateOptions, tmpl *x509.Certificate, certFile, keyFile string) error {
	if err := checkFree(opts, certFile, keyFile); err != nil {
		return err
	}
	ca, caKey, err := loadCA(opts.Dir)
	if err != nil {
		return err
	}
	now := opts.now()
	tmpl.NotBefore = now.Add(-clockSkew)
	tmpl.NotAfter = now.Add(opts.lifetime(DefaultCertLifetime))
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("certs: generate key: %w", err)
	}
	der, err := sign(tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	return writeFiles(opts.Dir, []file{{certFile, pemBytes("CERTIFICATE", der), 0o644}, {keyFile, nil, 0o600}}, key)
}

// sign fills the serial number and signs tmpl with parent's key.
func sign(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, parentKey *ecdsa.PrivateKey) ([]byte, error) {
	// 128 random bits: serials must be unique per CA and unpredictable.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("certs: serial number: %w", err)
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, fmt.Errorf("certs: sign %s: %w", tmpl.Subject.CommonName, err)
	}
	return der, nil
}

// loadCA reads the CA certificate and key that sign new certificates.
func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	ca, err := readCert(filepath.Join(dir, CAFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: %s: no %s", ErrNoCA, dir, CAFile)
	}
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(dir, CAKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: %s: no %s (certificates are issued where the CA key is)", ErrNoCA, dir, CAKeyFile)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, nil, fmt.Errorf("certs: %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %s: %w", path, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(ca.PublicKey) {
		return nil, nil, fmt.Errorf("certs: %s does not hold the key of %s", path, CAFile)
	}
	if !ca.IsCA {
		return nil, nil, fmt.Errorf("certs: %s is not a CA certificate", CAFile)
	}
	return ca, key, nil
}

// validDNSName accepts host names (and a leading wildcard label): labels
// of letters, digits and '-', joined by dots.
func validDNSName(h string) bool {
	h = strings.TrimPrefix(strings.TrimSuffix(h, "."), "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

type file struct {
	name string
	data []byte // nil: the private key
	mode fs.FileMode
}

// checkFree refuses when any of names exists in opts.Dir, unless
// opts.Overwrite, so that nothing is half-replaced.
func checkFree(opts CreateOptions, names ...string) error {
	if opts.Overwrite {
		return nil
	}
	for _, n := range names {
		p := filepath.Join(opts.Dir, n)
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%w: %s", ErrExists, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("certs: %w", err)
		}
	}
	return nil
}

// writeFiles writes files into dir, each through a temporary file renamed
// into place, so that a reader (a node reloading) never sees half a file.
func writeFiles(dir string, files []file, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("certs: encode key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	for _, f := range files {
		data := f.data
		if data == nil {
			data = pemBytes("PRIVATE KEY", der)
		}
		if err := writeAtomic(filepath.Join(dir, f.name), data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

func pemBytes(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
