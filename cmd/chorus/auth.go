package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/auth"
	"github.com/chorusdb/chorus/server"
)

func newAuthCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Manage the auth file of --auth-file: bearer tokens and their roles",
		Long: `Manage the auth file a node reads with --auth-file (and again on SIGHUP).

The file grants roles (read, write, admin) to client certificate names
(users) and to bearer tokens (tokens, kept as their SHA-256):

  users:
    - name: alice
      roles: [read, write]
  tokens:
    - name: ci
      sha256: <hex of sha256(token)>
      roles: [read]`,
	}
	cmd.AddCommand(newCreateTokenCmd(e), newHashTokenCmd(e))
	return cmd
}

func newCreateTokenCmd(e *env) *cobra.Command {
	var roles, file string
	cmd := &cobra.Command{
		Use:   "create-token NAME",
		Short: "Create a bearer token, add its hash to the auth file, and print it once",
		Long: `Create a bearer token of 32 random bytes, add an entry with its SHA-256
and --roles to the auth file under NAME (creating the file if needed), and
print the token on stdout (with -o json, an object with name, token,
roles, auth_file and rewritten). The token is shown only this once; the
file keeps its hash. Nodes load the new entry on SIGHUP.`,
		Example: `  chorus auth create-token ci --roles read,write --auth-file auth.yaml`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return createToken(e, args[0], roles, file)
		},
	}
	cmd.Flags().StringVar(&roles, "roles", "", "the token's roles, comma-separated: read, write, admin (required)")
	cmd.Flags().StringVar(&file, "auth-file", "", "the auth file to add the token to (required)")
	return cmd
}

func createToken(e *env, name, roleList, path string) error {
	if roleList == "" {
		return usageError("--roles: give the token's roles, e.g. --roles read,write")
	}
	roles, err := auth.ParseRoles(roleList)
	if err != nil {
		return usageError("--roles %q: %s", roleList, strings.TrimPrefix(err.Error(), "auth: "))
	}
	if path == "" {
		return usageError("--auth-file: name the auth file to add the token to")
	}
	data, mode, err := readAuthFile(path)
	if err != nil {
		return err
	}
	token := auth.NewToken()
	out, rewritten, err := auth.AppendToken(data, auth.TokenEntry{Name: name, SHA256: auth.HashToken(token), Roles: roles})
	if err != nil {
		return usageError("--auth-file %s: %s", path, strings.TrimPrefix(err.Error(), "auth: "))
	}
	if err := writeFileAtomic(path, out, mode); err != nil {
		return err
	}
	created := createdToken{Name: name, Token: token, Roles: strings.Split(roles.String(), ","), AuthFile: path, Rewritten: rewritten}
	if err := printTableOrJSON(e, created, func() error { _, err := fmt.Fprintln(e.stdout, token); return err }); err != nil {
		return err
	}
	if rewritten {
		fmt.Fprintf(e.stderr, "note: %s was rewritten in canonical form; its comments were not kept\n", path)
	}
	fmt.Fprintf(e.stderr, "token %q (roles %s) added to %s; it is shown only this once. Send SIGHUP to the nodes to load it.\n",
		name, roles, path)
	return nil
}

// createdToken is create-token's -o json output.
type createdToken struct {
	Name      string   `json:"name"`
	Token     string   `json:"token"`
	Roles     []string `json:"roles"`
	AuthFile  string   `json:"auth_file"`
	Rewritten bool     `json:"rewritten"` // the file lost its comments
}

// readAuthFile returns the auth file's content and mode; a file that does
// not exist yet is empty, and will be created private to its owner.
func readAuthFile(path string) ([]byte, fs.FileMode, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o600, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, usageError("--auth-file %s: not a regular file", path)
	}
	data, err := os.ReadFile(path)
	return data, fi.Mode().Perm(), err
}

// writeFileAtomic replaces path by data through a temporary file renamed
// over it, so that a node reloading the file never reads half of it.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Chmod(mode), tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// minTokenLen is the shortest token hash-token accepts: the file keeps a
// fast hash (SHA-256), which is safe only for tokens too random to guess;
// 32 characters of base64 are 192 bits.
const minTokenLen = 32

func newHashTokenCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "hash-token",
		Short: "Read a token on stdin and print the sha256 line of its auth file entry",
		Long: `Read a bearer token you made yourself on stdin and print the sha256 line
of its entry in the auth file. The token must be at least 32 characters of
random text without spaces (e.g. head -c 32 /dev/urandom | base64).`,
		Example: `  chorus auth hash-token < token.txt`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := io.ReadAll(io.LimitReader(e.stdin, 4096+1))
			if err != nil {
				return err
			}
			token := strings.TrimSpace(string(b))
			switch {
			case len(b) > 4096:
				return usageError("stdin: more than 4096 bytes; give one token")
			case token == "":
				return usageError("stdin: no token; give the token on stdin")
			case strings.ContainsFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
				return usageError("stdin: the token holds a space or a control character; give one token")
			case len(token) < minTokenLen:
				return usageError("stdin: a token of %d characters is too short to be safe with a fast hash; use at least %d random characters (or chorus auth create-token)",
					len(token), minTokenLen)
			}
			h := auth.HashTokenHex(token)
			return printTableOrJSON(e, map[string]string{"sha256": h}, func() error {
				_, err := fmt.Fprintf(e.stdout, "sha256: %s\n", h)
				return err
			})
		},
	}
}

// authConfig returns the authorization of the node's client APIs: with
// --auth-file, its roles; without one, over TLS (secure), every client
// certificate the cluster CA signed has every role; without either,
// nil: nothing is checked. A file that does not load is a usage error
// naming the problem. A node without TLS that has an auth file accepts
// tokens in plaintext, as the operator asked, and says so.
func (f *nodeFlags) authConfig(secure bool, log *slog.Logger) (*server.AuthConfig, error) {
	if f.authFile == "" && !secure {
		return nil, nil
	}
	a, err := auth.NewAuthorizer(f.authFile)
	if err != nil {
		return nil, usageError("--auth-file: %s", strings.TrimPrefix(err.Error(), "auth: "))
	}
	if !secure {
		log.Warn("--auth-file without TLS: bearer tokens cross the network in plaintext")
	}
	return &server.AuthConfig{Authorizer: a, OpenMetrics: f.openMetrics, PlaintextTokens: !secure}, nil
}

// reloadAuth re-reads the auth file of cfg, if it has one (on SIGHUP). A
// file that does not load leaves the roles in force and returns why.
func reloadAuth(cfg server.Config) error {
	if cfg.Auth == nil {
		return nil
	}
	if r, ok := cfg.Auth.Authorizer.(interface{ Reload() error }); ok {
		return r.Reload()
	}
	return nil
}
