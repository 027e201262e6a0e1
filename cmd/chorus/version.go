package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/version"
)

func newVersionCmd(e *env) *cobra.Command {
	var output string
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
		PreRunE: func(*cobra.Command, []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("-o %q: want table or json", output)
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error {
			in := version.Get()
			if output == "json" {
				js, err := json.MarshalIndent(in, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "%s\n", js)
				return err
			}
			_, err := fmt.Fprintln(e.stdout, in.String())
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}
