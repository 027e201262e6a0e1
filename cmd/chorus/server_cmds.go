package main

import "github.com/spf13/cobra"

// addServerCommands registers the commands that run nodes: `node` (one
// node until SIGINT/SIGTERM) and `demo` (a local cluster in this process).
//
// Contract for the commands added here:
//   - Read input and write output only through e (e.stdin, e.stdout,
//     e.stderr), never os.Std*, so that run is testable.
//   - Use cmd.Context() as the lifetime: main cancels it on a signal.
//   - Every flag automatically gets its CHORUS_<FLAG> environment variable
//     (env.go); do not set PersistentPreRun(E), which would disable that.
//   - Errors returned from RunE exit with status 1; return
//     usageError(...) for bad flag values (status 2).
func addServerCommands(root *cobra.Command, e *env) {
	root.AddCommand(newNodeCmd(e), newDemoCmd(e))
}
