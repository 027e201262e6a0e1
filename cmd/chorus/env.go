package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envName returns the environment variable of flag name:
// CHORUS_ + upper case, '-' as '_' (data-dir: CHORUS_DATA_DIR).
func envName(flag string) string {
	return "CHORUS_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag of cmd (its own and those it inherits) that was
// not given on the command line from its environment variable, when that
// is set. A value the flag rejects is a usage error naming the variable.
// The root command calls it for whichever command runs, so commands added
// anywhere in the tree get environment variables without doing anything.
func applyEnv(cmd *cobra.Command, lookup func(string) (string, bool)) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		v, ok := lookup(envName(f.Name))
		if !ok {
			return
		}
		if e := cmd.Flags().Set(f.Name, v); e != nil {
			err = usageError("%s=%q: %v", envName(f.Name), v, e)
		}
	})
	return err
}
