package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/version"
)

// Exit statuses of chorus.
const (
	exitOK       = 0
	exitRuntime  = 1 // runtime failure: cluster unreachable, quorum not met, ...
	exitUsage    = 2 // bad command line or environment variable
	exitNotFound = 3 // chorus get: the key does not exist
)

// env is what commands may touch of the process: its I/O and environment.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// lookupEnv reads an environment variable (os.LookupEnv).
	lookupEnv func(string) (string, bool)
	// output is -o/--output: outputTable or outputJSON.
	output string
}

// exitError carries an exit status; a nil err prints nothing.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// usageError marks err as a usage error (exit status 2).
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Commands write from several goroutines at once (progress lines,
	// cluster lifecycle lines), so each stream takes one write at a time.
	e := &env{stdin: stdin, stdout: &lockedWriter{w: stdout}, stderr: &lockedWriter{w: stderr}, lookupEnv: os.LookupEnv}
	root := newRootCmd(e)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	code := exitUsage // errors cobra finds itself are usage errors
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	if code == exitUsage {
		fmt.Fprintf(stderr, "%s: %v (see '%s --help')\n", cmd.CommandPath(), err, cmd.CommandPath())
	} else {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
	}
	return code
}

const rootLong = `Chorus is a Dynamo-style, leaderless key-value store.

Every flag can also be set by an environment variable CHORUS_<FLAG>, upper
case with '-' as '_' (--endpoints: CHORUS_ENDPOINTS, --data-dir:
CHORUS_DATA_DIR); a flag given on the command line wins. Commands with
--config (node, demo) also read flag values from a YAML file keyed by flag
name; the command line and the environment win over it.

Every command prints for people by default (-o table) and for programs
with -o json: snake_case keys, durations as numbers of milliseconds in
keys ending in _ms (docs/api.md). --json, deprecated, is -o json. The
quorum flags are -n, -r and -w (N, R, W), with --pr and --pw.

Exit status: 0 success; 1 runtime error (cluster unreachable, quorum not
met); 2 usage error; 3 key not found (get).`

// newRootCmd builds the chorus command tree. Errors returned by a
// command's RunE are runtime errors (exit 1) unless they carry their own
// status (usageError); errors found before RunE runs (flags, arguments,
// environment) are usage errors (exit 2).
func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "chorus",
		Short:         "Chorus: a Dynamo-style key-value store",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Subcommands must not set PersistentPreRun(E): it would replace
		// this hook, and their flags would lose their environment
		// variables. Use PreRunE instead.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// Flag > environment > config file > default: the environment
			// marks the flags it sets, and the file sets only the others.
			if err := applyEnv(cmd, e.lookupEnv); err != nil {
				return err
			}
			if err := applyConfig(cmd); err != nil {
				return err
			}
			return resolveOutput(cmd, e)
		},
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddCommand(newGetCmd(e), newPutCmd(e), newDelCmd(e), newStatusCmd(e), newRingCmd(e), newBenchCmd(e), newExperimentCmd(e),
		newTransfersCmd(e), newLeaveCmd(e), newRemoveCmd(e), newClusterCmd(e), newCertsCmd(e), newVersionCmd(e), newVerifyCmd(e), newAuthCmd(e), newNemesisCmd(e))
	root.AddCommand(newBackupCmd(e), newRestoreCmd(e))
	// --version prints what `chorus version` does.
	root.Version = version.Get().String()
	root.SetVersionTemplate("{{.Version}}\n")
	addServerCommands(root, e)
	addOutputFlag(root, e)
	deprecateJSONFlags(root)
	markRuntime(root)
	return root
}

// markRuntime wraps the RunE of c and its subcommands so that their
// errors exit with status 1 unless they carry their own.
func markRuntime(c *cobra.Command) {
	if f := c.RunE; f != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			err := f(cmd, args)
			var ee *exitError
			if err == nil || errors.As(err, &ee) {
				return err
			}
			return &exitError{code: exitRuntime, err: err}
		}
	}
	for _, sub := range c.Commands() {
		markRuntime(sub)
	}
}

// exactArgs is cobra.ExactArgs with a message naming the arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return fmt.Errorf("want %d argument(s) %v, got %d", len(names), names, len(args))
		}
		return nil
	}
}
