package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/localcluster"
	"github.com/spf13/cobra"
)

func newDemoCmd(e *env) *cobra.Command {
	var d demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a local cluster in this process and print how to use it",
		Long: `Start a local Chorus cluster on loopback, in this process, with its data in
a temporary directory (removed on exit unless --dir is given). Node i serves
HTTP on 127.0.0.1:P+i, gRPC on 127.0.0.1:P+1010+i, other nodes on
127.0.0.1:P+1110+i and gossip on 127.0.0.1:P-134+i, where P is --base-port
(8080: node 0 uses the same ports as a default 'chorus node').

The cluster is secured as a deployment is: the demo creates throwaway
certificates (a CA, a node certificate for 127.0.0.1 and localhost, a client
certificate for root and a gossip key) in DIR/certs and prints how to use
them with curl and the CLI. --insecure serves plaintext instead. Stop it
with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := d.check(); err != nil {
				return err
			}
			keep := d.dir != ""
			if !keep {
				tmp, err := os.MkdirTemp("", "chorus-demo-")
				if err != nil {
					return err
				}
				d.dir = tmp
				defer os.RemoveAll(tmp)
			}
			var logOut io.Writer = io.Discard
			if d.verbose {
				logOut = e.stderr
			}
			log, err := newLogger(logOut, d.logFormat, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "starting %d nodes (data in %s)...\n", d.nodes, d.dir)
			lc, certsDir, err := d.start(cmd.Context(), log)
			if err != nil {
				return err
			}
			printDemo(e.stdout, lc, certsDir)
			waitLeft := closeOnLeave(cmd.Context(), e.stdout, lc)
			<-cmd.Context().Done()
			waitLeft()
			fmt.Fprintln(e.stdout, "stopping...")
			return lc.Close()
		},
	}
	cmd.Flags().IntVar(&d.nodes, "nodes", 3, "number of nodes")
	cmd.Flags().IntVar(&d.basePort, "base-port", 8080, "port P: node i serves HTTP on P+i, gRPC on P+1010+i, peers on P+1110+i, gossip on P-134+i")
	cmd.Flags().StringVar(&d.dir, "dir", "", "keep the data in this directory instead of a temporary one")
	cmd.Flags().BoolVar(&d.verbose, "verbose", false, "print the nodes' logs")
	cmd.Flags().BoolVar(&d.insecure, "insecure", false, "serve plaintext and unauthenticated, without certificates")
	cmd.Flags().StringVar(&d.logFormat, "log-format", "text", "text or json, for the logs of --verbose")
	addConfigFlag(cmd.Flags())
	return cmd
}

// demoFlags are the flags of chorus demo.
type demoFlags struct {
	nodes, basePort int
	dir, logFormat  string
	verbose         bool
	insecure        bool
}

func (d *demoFlags) check() error {
	if d.nodes < 1 || d.nodes > 64 {
		return usageError("--nodes %d: want 1 to 64", d.nodes)
	}
	if d.basePort != 0 && (d.basePort < 134 || d.basePort+1110+d.nodes > 65535) {
		return usageError("--base-port %d: want 134 to %d so every node's ports fit", d.basePort, 65535-1110-d.nodes)
	}
	return nil
}

// start issues the demo's certificates into dir/certs (unless insecure)
// and starts the cluster; it returns the certificates directory, empty
// when insecure.
func (d *demoFlags) start(ctx context.Context, logger *slog.Logger) (*localcluster.Cluster, string, error) {
	var creds *certs.Node
	var gossipKey []byte
	certsDir := ""
	if !d.insecure {
		certsDir = filepath.Join(d.dir, "certs")
		opts := certs.CreateOptions{Dir: certsDir, Overwrite: true}
		for _, issue := range []func() error{
			func() error { return certs.CreateCA(opts) },
			func() error { return certs.CreateNode(opts, "demo", []string{"127.0.0.1", "localhost"}) },
			func() error { return certs.CreateClient(opts, "root") },
		} {
			if err := issue(); err != nil {
				return nil, "", fmt.Errorf("demo certificates: %w", err)
			}
		}
		var err error
		if creds, err = certs.LoadNode(certsDir, logger); err != nil {
			return nil, "", err
		}
		if gossipKey, err = creds.GossipKey(); err != nil {
			return nil, "", err
		}
	}
	// A cluster smaller than N needs no setting: default requests use N =
	// the number of nodes (replica.Options.Fit).
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: d.nodes, BasePort: d.basePort, Dir: d.dir,
		Logger: logger, Configure: func(_ int, c *server.Config) {
			if creds != nil {
				c.TLS, c.GossipKey = creds, gossipKey
			}
		}})
	return lc, certsDir, err
}

func printDemo(w io.Writer, lc *localcluster.Cluster, certsDir string) {
	n := min(3, len(lc.Nodes))
	mode := "TLS, certificates in " + certsDir
	if certsDir == "" {
		mode = "plaintext (--insecure)"
	}
	fmt.Fprintf(w, "\nChorus demo cluster: %d nodes, N=%d R=%d W=%d by default, %s\n\n", len(lc.Nodes), n, min(2, n), min(2, n), mode)
	fmt.Fprintf(w, "  %-8s %-22s %-22s %-22s %s\n", "node", "http", "grpc", "peer", "gossip")
	var grpcs []string
	for _, n := range lc.Nodes {
		a := n.Addrs()
		fmt.Fprintf(w, "  %-8s %-22s %-22s %-22s %s\n", n.ID(), a.HTTP, a.GRPC, a.Peer, a.Gossip)
		grpcs = append(grpcs, a.GRPC)
	}
	h := lc.Nodes[0].Addrs().HTTP
	if certsDir == "" {
		fmt.Fprintf(w, `
Try:
  curl -i -X PUT --data-binary 'hello' http://%[1]s/v1/kv/greeting
  curl -i http://%[1]s/v1/kv/greeting
  curl -s http://%[1]s/v1/cluster/members
  go run ./cmd/chorus put --insecure --endpoints %[2]s greeting hi
  go run ./cmd/chorus get --insecure --endpoints %[2]s greeting
  go run ./cmd/chorus status --insecure --endpoints %[2]s

Press Ctrl-C to stop.
`, h, strings.Join(grpcs, ","))
		return
	}
	fmt.Fprintf(w, `
Try (the CLI reads CHORUS_CERTS_DIR; curl takes the same files):
  export CHORUS_CERTS_DIR=%[3]s
  curl -i --cacert $CHORUS_CERTS_DIR/ca.crt --cert $CHORUS_CERTS_DIR/client.root.crt --key $CHORUS_CERTS_DIR/client.root.key \
       -X PUT --data-binary 'hello' https://%[1]s/v1/kv/greeting
  curl -i --cacert $CHORUS_CERTS_DIR/ca.crt --cert $CHORUS_CERTS_DIR/client.root.crt --key $CHORUS_CERTS_DIR/client.root.key \
       https://%[1]s/v1/kv/greeting
  go run ./cmd/chorus put --endpoints %[2]s greeting hi
  go run ./cmd/chorus get --endpoints %[2]s greeting
  go run ./cmd/chorus status --endpoints %[2]s

Press Ctrl-C to stop.
`, h, strings.Join(grpcs, ","), certsDir)
}

// closeOnLeave stops each node of lc once it has left the cluster (chorus
// leave), as the process of a 'chorus node' exits then: its ports close,
// which is how the leave's caller knows it stopped. The returned wait
// returns once ctx has ended and every node being stopped is.
func closeOnLeave(ctx context.Context, w io.Writer, lc *localcluster.Cluster) (wait func()) {
	var mu sync.Mutex // one writer of w at a time
	var wg sync.WaitGroup
	for _, n := range lc.Nodes {
		wg.Go(func() {
			select {
			case <-ctx.Done():
				return
			case <-n.Left():
			}
			err := n.Close()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fmt.Fprintf(w, "%s left the cluster; stopping it: %v\n", n.ID(), err)
				return
			}
			fmt.Fprintf(w, "%s left the cluster and stopped\n", n.ID())
		})
	}
	return wg.Wait
}
