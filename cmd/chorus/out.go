package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/client"
)

// configError turns a bench configuration error into a usage error
// (exit status 2), nil into nil.
func configError(err error) error {
	if err == nil {
		return nil
	}
	return usageError("%v", strings.TrimPrefix(err.Error(), bench.ErrInvalidConfig.Error()+": "))
}

// writeOut creates dir and writes each named file into it with its
// writer, which takes the file's path.
func writeOut(dir string, files map[string]func(path string) error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for name, write := range files {
		errs = append(errs, write(filepath.Join(dir, name)))
	}
	return errors.Join(errs...)
}

// jsonFile writes v as indented JSON.
func jsonFile(v any) func(string) error {
	return func(path string) error {
		js, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return os.WriteFile(path, append(js, '\n'), 0o644)
	}
}

// textFile writes s.
func textFile(s string) func(string) error {
	return func(path string) error { return os.WriteFile(path, []byte(s), 0o644) }
}

// Output formats of -o/--output.
const (
	outputTable = "table"
	outputJSON  = "json"
)

const outputUsage = "output format: table or json (snake_case keys, durations in _ms numbers; see docs/api.md)"

// addOutputFlag gives every command -o/--output, as etcdctl's -w. The
// value lands in e.output; resolveOutput checks it before a command runs.
func addOutputFlag(root *cobra.Command, e *env) {
	root.PersistentFlags().StringVarP(&e.output, "output", "o", outputTable, outputUsage)
}

// deprecateJSONFlags hides the --json flag of c and its subcommands: it
// stays an alias of -o json so that scripts written for it keep working.
func deprecateJSONFlags(c *cobra.Command) {
	if c.LocalNonPersistentFlags().Lookup("json") != nil {
		_ = c.Flags().MarkHidden("json")
	}
	for _, sub := range c.Commands() {
		deprecateJSONFlags(sub)
	}
}

// resolveOutput checks -o and folds a command's deprecated --json into it.
func resolveOutput(cmd *cobra.Command, e *env) error {
	if e.output != outputTable && e.output != outputJSON {
		return usageError("--output: unknown format %q (table, json)", e.output)
	}
	if f := cmd.Flags().Lookup("json"); f != nil && f.Changed && f.Value.String() == "true" {
		if cmd.Flags().Changed("output") && e.output != outputJSON {
			return usageError("--json is -o json, but --output says %q", e.output)
		}
		e.output = outputJSON
	}
	return nil
}

// printTableOrJSON prints v as JSON with -o json, else runs table.
func printTableOrJSON(e *env, v any, table func() error) error {
	if e.jsonOutput() {
		return writeJSON(e.stdout, v)
	}
	return table()
}

// jsonOutput reports whether the command prints JSON (-o json).
func (e *env) jsonOutput() bool { return e.output == outputJSON }

// writeJSON writes v as indented JSON: the one JSON writer of every
// command's -o json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// nonNil makes JSON print [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// plainError rewrites a client error for people: a cluster that cannot be
// reached says so in words, naming the addresses tried, instead of a gRPC
// connection state or status dump. Other errors pass unchanged.
func plainError(err error, endpoints []string) error {
	var ce *client.Error
	if err == nil || !errors.As(err, &ce) {
		return err
	}
	switch {
	case ce.Code == codes.Unavailable && errors.Is(err, client.ErrNotSent):
		return fmt.Errorf("no node reachable at %s: %s", strings.Join(endpoints, ", "), connectReason(ce.Message))
	case ce.Code == codes.DeadlineExceeded:
		msg := strings.TrimPrefix(ce.Error(), "client: ")
		return fmt.Errorf("no answer in time: %s", msg)
	}
	return err
}

// connectReason extracts why a connection failed from a client message
// ("... cannot connect to 127.0.0.1:9090: connection refused", or gRPC's
// "... Error while dialing: dial tcp ...: connect: connection refused").
func connectReason(msg string) string {
	for _, marker := range []string{"connect: ", "cannot connect to "} {
		if i := strings.LastIndex(msg, marker); i >= 0 {
			rest := msg[i+len(marker):]
			if marker == "cannot connect to " {
				if _, why, ok := strings.Cut(rest, ": "); ok {
					rest = why
				}
			}
			return strings.TrimRight(rest, `"`)
		}
	}
	return msg
}
