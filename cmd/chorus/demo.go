package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/localcluster"
	"github.com/spf13/cobra"
)

func newDemoCmd(e *env) *cobra.Command {
	var (
		nodes, basePort int
		dir             string
		verbose         bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a local cluster in this process and print how to use it",
		Long: `Start a local Chorus cluster on loopback, in this process, with its data in
a temporary directory (removed on exit unless --dir is given). Node i serves
HTTP on 127.0.0.1:P+i, gRPC on 127.0.0.1:P+1010+i and gossip on
127.0.0.1:P-134+i, where P is --base-port (8080: node 0 uses the same ports
as a default 'chorus node'). Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodes < 1 || nodes > 64 {
				return usageError("--nodes %d: want 1 to 64", nodes)
			}
			if basePort < 134 || basePort+1010+nodes > 65535 {
				return usageError("--base-port %d: want 134 to %d so every node's ports fit", basePort, 65535-1010-nodes)
			}
			keep := dir != ""
			if !keep {
				tmp, err := os.MkdirTemp("", "chorus-demo-")
				if err != nil {
					return err
				}
				dir = tmp
				defer os.RemoveAll(tmp)
			}
			var logOut io.Writer = io.Discard
			if verbose {
				logOut = e.stderr
			}
			fmt.Fprintf(e.stdout, "starting %d nodes (data in %s)...\n", nodes, dir)
			lc, err := localcluster.Start(cmd.Context(), localcluster.Config{Nodes: nodes, BasePort: basePort, Dir: dir,
				Logger: slog.New(slog.NewTextHandler(logOut, nil)), Configure: func(_ int, c *server.Config) {
					// A cluster smaller than N still answers default requests.
					c.Defaults.N = min(c.Defaults.N, nodes)
					c.Defaults.R, c.Defaults.W = min(c.Defaults.R, nodes), min(c.Defaults.W, nodes)
				}})
			if err != nil {
				return err
			}
			printDemo(e.stdout, lc)
			<-cmd.Context().Done()
			fmt.Fprintln(e.stdout, "stopping...")
			return lc.Close()
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 3, "number of nodes")
	cmd.Flags().IntVar(&basePort, "base-port", 8080, "port P: node i serves HTTP on P+i, gRPC on P+1010+i, gossip on P-134+i")
	cmd.Flags().StringVar(&dir, "dir", "", "keep the data in this directory instead of a temporary one")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print the nodes' logs")
	return cmd
}

func printDemo(w io.Writer, lc *localcluster.Cluster) {
	n := min(3, len(lc.Nodes))
	fmt.Fprintf(w, "\nChorus demo cluster: %d nodes, N=%d R=%d W=%d by default\n\n", len(lc.Nodes), n, min(2, n), min(2, n))
	fmt.Fprintf(w, "  %-8s %-22s %-22s %s\n", "node", "http", "grpc", "gossip")
	var grpcs []string
	for _, n := range lc.Nodes {
		a := n.Addrs()
		fmt.Fprintf(w, "  %-8s %-22s %-22s %s\n", n.ID(), a.HTTP, a.GRPC, a.Gossip)
		grpcs = append(grpcs, a.GRPC)
	}
	h := lc.Nodes[0].Addrs().HTTP
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
}
