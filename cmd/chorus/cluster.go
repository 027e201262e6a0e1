package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/client"
)

// fetchCluster connects with cf and returns the cluster's view.
func fetchCluster(cmd *cobra.Command, cf *clientFlags) (*client.ClusterInfo, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), cf.deadline())
	defer cancel()
	c, err := cf.connect(ctx, client.Quorum{})
	if err != nil {
		return nil, plainError(err, cf.endpoints)
	}
	defer c.Close()
	ci, err := c.Cluster(ctx)
	return ci, plainError(err, cf.endpoints)
}

func newStatusCmd(e *env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cluster's members",
		Long: `Show every member the cluster knows: id, zone, ring status, whether the
failure detector sees it alive, its gRPC and HTTP addresses, and how many
partitions it is a primary of (and the first primary of: owned).`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ci, err := fetchCluster(cmd, &cf)
			if err != nil {
				return err
			}
			if e.jsonOutput() {
				return writeJSON(e.stdout, ci.Members)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tZONE\tSTATUS\tALIVE\tGRPC\tHTTP\tPRIMARIES\tOWNED")
			for _, m := range ci.Members {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\t%d\t%d\n", m.ID, orDash(m.Zone), m.Status, m.Alive,
					orDash(m.GRPCAddr), orDash(m.HTTPAddr), m.Primaries, m.Owned)
			}
			return tw.Flush()
		},
	}
	cf.register(cmd)
	return cmd
}

func newRingCmd(e *env) *cobra.Command {
	var cf clientFlags
	var partitions bool
	cmd := &cobra.Command{
		Use:   "ring",
		Short: "Show the ring: partitions, replicas, ownership",
		Long: `Show the ring: number of partitions and replicas, ring version and size,
and per node how many partitions it is the first primary of (owned) and a
primary of. --partitions adds the full table: each partition's primaries,
best first.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ci, err := fetchCluster(cmd, &cf)
			if err != nil {
				return err
			}
			if e.jsonOutput() {
				if !partitions {
					ci.Owners = nil
				}
				return writeJSON(e.stdout, ci)
			}
			return printRing(e, ci, partitions)
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&partitions, "partitions", false, "print every partition's primaries")
	return cmd
}

func printRing(e *env, ci *client.ClusterInfo, partitions bool) error {
	fmt.Fprintf(e.stdout, "partitions:   %d\nreplicas:     %d\nring version: %d\nring size:    %d\n\n",
		ci.Partitions, ci.Replicas, ci.RingVersion, ci.RingSize)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATUS\tOWNED\tPRIMARIES")
	for _, m := range ci.Members {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", m.ID, m.Status, m.Owned, m.Primaries)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !partitions {
		return nil
	}
	fmt.Fprintln(e.stdout)
	tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tPRIMARIES")
	for p, ids := range ci.Owners {
		fmt.Fprintf(tw, "%d\t%s\n", p, strings.Join(ids, ","))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
