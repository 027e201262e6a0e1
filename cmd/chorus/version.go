package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/version"
)

func newVersionCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go toolchain of this binary",
		Long: `Print which build of chorus this is: its version (set at build time with
-ldflags "-X github.com/chorusdb/chorus/version.Version=v0.x", "dev"
otherwise), the commit it was built from ("unknown" when the build did
not record one, as with -buildvcs=false) and whether the tree had local
changes, the Go toolchain, and the platform. A node exports the same as
the chorus_build_info metric.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			in := version.Get()
			return printTableOrJSON(e, in, func() error {
				_, err := fmt.Fprintln(e.stdout, in.String())
				return err
			})
		},
	}
	return cmd
}
