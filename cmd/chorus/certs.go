package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/certs"
)

const certsLong = `Create the certificates of a cluster: a CA (with the gossip key), node
certificates and client certificates, in --certs-dir.

  chorus certs create-ca --certs-dir DIR
  chorus certs create-node --certs-dir DIR NAME HOST...   # for chorus node --certs-dir
  chorus certs create-client --certs-dir DIR USER         # for clients: --certs-dir DIR --user USER

create-ca writes ca.crt, ca.key and gossip.key. create-node and create-client
sign with ca.key, so run them where it is; a node's directory needs ca.crt,
node.crt, node.key and gossip.key (not ca.key), a client's ca.crt and
client.USER.crt/.key. Keys are ECDSA P-256, written 0600. A file that exists
is not replaced without --overwrite. The CA is valid 10 years, other
certificates 1 year (never beyond the CA); --lifetime changes that (8760h,
90d). A node reloads its certificates on SIGHUP.`

// certsFlags are the flags of every certs subcommand.
type certsFlags struct {
	dir       string
	lifetime  string
	overwrite bool
}

func (f *certsFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.dir, "certs-dir", "", "certificates directory (required; created if missing)")
	fs.StringVar(&f.lifetime, "lifetime", "", "validity from now, as 8760h or 365d (default: CA 10 years, others 1 year)")
	fs.BoolVar(&f.overwrite, "overwrite", false, "replace files that exist")
}

// options checks the flags.
func (f *certsFlags) options() (certs.CreateOptions, error) {
	if f.dir == "" {
		return certs.CreateOptions{}, usageError("--certs-dir is required (or CHORUS_CERTS_DIR)")
	}
	lifetime, err := parseLifetime(f.lifetime)
	if err != nil {
		return certs.CreateOptions{}, usageError("--lifetime %q: %v", f.lifetime, err)
	}
	return certs.CreateOptions{Dir: f.dir, Lifetime: lifetime, Overwrite: f.overwrite}, nil
}

// parseLifetime reads a Go duration or a number of days ("90d"); empty
// means the default.
func parseLifetime(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if n, err = strconv.Atoi(days); err == nil {
			d = time.Duration(n) * 24 * time.Hour
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, errors.New("want a positive duration: 8760h, 90d")
	}
	return d, nil
}

// certsError makes bad input (a file that exists, no CA, a bad name) a
// usage error.
func certsError(err error) error {
	if errors.Is(err, certs.ErrExists) {
		return usageError("%v (--overwrite replaces it)", err)
	}
	if errors.Is(err, certs.ErrInvalid) || errors.Is(err, certs.ErrNoCA) {
		return usageError("%v", err)
	}
	return err
}

// printWritten lists the files written.
func printWritten(e *env, dir string, files ...string) error {
	for _, f := range files {
		if _, err := fmt.Fprintf(e.stdout, "wrote %s\n", filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	return nil
}

func newCertsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Create the CA, node and client certificates of a cluster",
		Long:  certsLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("want a subcommand: create-ca, create-node or create-client")
		},
	}
	cmd.AddCommand(newCreateCACmd(e), newCreateNodeCmd(e), newCreateClientCmd(e))
	return cmd
}

func newCreateCACmd(e *env) *cobra.Command {
	var f certsFlags
	cmd := &cobra.Command{
		Use:   "create-ca",
		Short: "Create the cluster CA (ca.crt, ca.key) and the gossip key (gossip.key)",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			if err := certs.CreateCA(o); err != nil {
				return certsError(err)
			}
			return printWritten(e, o.Dir, certs.CAFile, certs.CAKeyFile, certs.GossipKeyFile)
		},
	}
	f.register(cmd)
	return cmd
}

func newCreateNodeCmd(e *env) *cobra.Command {
	var f certsFlags
	cmd := &cobra.Command{
		Use:   "create-node NAME HOST...",
		Short: "Create node.crt and node.key for node NAME, reached at each HOST (IP address or DNS name)",
		Long: `Create node.crt and node.key for node NAME, signed by the CA of --certs-dir.
Each HOST is an address clients and peers reach the node at (an IP address
or a DNS name, such as chorus-0.chorus.default.svc); the certificate names
them all, and a connection to any other name is refused.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return fmt.Errorf("want NAME and at least one HOST, got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			if err := certs.CreateNode(o, args[0], args[1:]); err != nil {
				return certsError(err)
			}
			return printWritten(e, o.Dir, certs.NodeCertFile, certs.NodeKeyFile)
		},
	}
	f.register(cmd)
	return cmd
}

func newCreateClientCmd(e *env) *cobra.Command {
	var f certsFlags
	cmd := &cobra.Command{
		Use:   "create-client USER",
		Short: "Create client.USER.crt and client.USER.key",
		Long: `Create client.USER.crt and client.USER.key for USER (1 to 64 of A-Z a-z 0-9
. _ -), signed by the CA of --certs-dir. Clients present them with
--certs-dir DIR --user USER; the server knows the user by the certificate's
CN.`,
		Args: exactArgs("USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			if err := certs.CreateClient(o, args[0]); err != nil {
				return certsError(err)
			}
			return printWritten(e, o.Dir, certs.ClientCertFile(args[0]), certs.ClientKeyFile(args[0]))
		},
	}
	f.register(cmd)
	return cmd
}
