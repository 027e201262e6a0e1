package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/client"
)

// clientFlags are the flags of every command that talks to a cluster.
type clientFlags struct {
	endpoints []string
	timeout   time.Duration
	json      bool
	conn      connFlags
}

func (f *clientFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringSliceVar(&f.endpoints, "endpoints", []string{"127.0.0.1:9090"},
		"gRPC addresses (host:port, comma separated) of any cluster nodes")
	fs.DurationVar(&f.timeout, "timeout", 0,
		"server quorum deadline of the request (default: the server's); the command gives up 1s later, or after 5s when unset")
	fs.BoolVar(&f.json, "json", false, "machine-readable output")
	f.conn.register(fs)
}

// deadline is how long the command may run in total.
func (f *clientFlags) deadline() time.Duration {
	if f.timeout > 0 {
		return f.timeout + time.Second
	}
	return client.DefaultRequestTimeout
}

// connect validates the flags and connects.
func (f *clientFlags) connect(ctx context.Context, q client.Quorum) (*client.Client, error) {
	if f.timeout < 0 {
		return nil, usageError("--timeout must not be negative, got %v", f.timeout)
	}
	cfg := client.DefaultConfig()
	cfg.Endpoints = f.endpoints
	cfg.RequestTimeout = f.deadline()
	cfg.Defaults = q
	if err := f.conn.clientConfig(&cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return client.New(ctx, cfg)
}

// quorumFlags are the replication settings of get, put and del.
type quorumFlags struct {
	n, r, w, pr, pw int
	noSync          bool
	context         string
}

func (q *quorumFlags) register(cmd *cobra.Command, write bool) {
	fs := cmd.Flags()
	fs.IntVar(&q.n, "n", 0, "replicas N (default: the server's, 3)")
	fs.IntVar(&q.pr, "pr", 0, "primaries among the R replies (default: the server's, 0)")
	fs.IntVar(&q.r, "r", 0, "read quorum R (default: the server's, 2)")
	if write {
		fs.IntVar(&q.w, "w", 0, "write quorum W (default: the server's, 2)")
		fs.IntVar(&q.pw, "pw", 0, "primaries among the W acks (default: the server's, 0)")
		fs.BoolVar(&q.noSync, "no-sync", false, "do not sync the write to disk on the replicas (not durable)")
		fs.StringVar(&q.context, "context", "", "causal context of the read this write is based on (printed by get)")
	}
}

// quorum checks the flags: a value given explicitly must be at least 1
// (leave it out for the server's default), and R, W, PR, PW may not exceed
// an explicit N.
func (q *quorumFlags) quorum(cmd *cobra.Command, timeout time.Duration) (client.Quorum, error) {
	for name, v := range map[string]int{"n": q.n, "r": q.r, "w": q.w, "pr": q.pr, "pw": q.pw} {
		if cmd.Flags().Changed(name) && v < 1 {
			return client.Quorum{}, usageError("--%s must be at least 1, got %d (leave it out for the server's default)", name, v)
		}
	}
	cq := client.Quorum{N: q.n, R: q.r, W: q.w, PR: q.pr, PW: q.pw, Timeout: timeout, NotDurable: q.noSync}
	if err := cq.Validate(); err != nil {
		return client.Quorum{}, usageError("%v", err)
	}
	return cq, nil
}

// kvCmd is the shared state of get, put and del.
type kvCmd struct {
	e  *env
	cf clientFlags
	qf quorumFlags
}

// open validates the flags and connects; the returned context bounds the
// whole command.
func (k *kvCmd) open(cmd *cobra.Command) (context.Context, context.CancelFunc, *client.Client, error) {
	q, err := k.qf.quorum(cmd, k.cf.timeout)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), k.cf.deadline())
	c, err := k.cf.connect(ctx, q)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, cancel, c, nil
}

// do validates the flags, connects, and runs op within the command's
// deadline.
func (k *kvCmd) do(cmd *cobra.Command, op func(context.Context, *client.Client) error) error {
	ctx, cancel, c, err := k.open(cmd)
	if err != nil {
		return err
	}
	defer cancel()
	defer c.Close()
	return op(ctx, c)
}

// value returns the VALUE argument, read from stdin when it is "-".
func (k *kvCmd) value(arg string) ([]byte, error) {
	if arg != "-" {
		return []byte(arg), nil
	}
	v, err := io.ReadAll(k.e.stdin)
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	return v, nil
}

const getLong = `Read KEY.

The value is printed on stdout. When concurrent writes left siblings, each
sibling is printed on its own line and stderr says how many there are.
The causal context is printed on stderr ("context: ..."): pass it back with
put --context or del --context so that the write supersedes what was read.

With --json, stdout is one object: found, values (base64), context,
quorum ("strict" or "sloppy") and replicas.

Exit status 3 (and "not found" on stderr) when the key does not exist.`

func newGetCmd(e *env) *cobra.Command {
	k := &kvCmd{e: e}
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Read a key",
		Long:  getLong,
		Args:  exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return k.do(cmd, func(ctx context.Context, c *client.Client) error {
				res, err := c.Get(ctx, []byte(args[0]))
				if err != nil {
					return err
				}
				return k.printGet(res)
			})
		},
	}
	k.cf.register(cmd)
	k.qf.register(cmd, false)
	return cmd
}

func (k *kvCmd) printGet(res *client.Result) error {
	if k.cf.json {
		if err := writeJSON(k.e.stdout, getJSON{Found: res.Found, Values: nonNil(res.Values),
			Context: res.Context, Quorum: quorumKind(res.Sloppy), Replicas: nonNil(res.Replicas)}); err != nil {
			return err
		}
		if !res.Found {
			return &exitError{code: exitNotFound}
		}
		return nil
	}
	if !res.Found {
		if res.Context != "" {
			fmt.Fprintf(k.e.stderr, "context: %s\n", res.Context)
		}
		return &exitError{code: exitNotFound, err: fmt.Errorf("not found")}
	}
	if len(res.Values) > 1 {
		fmt.Fprintf(k.e.stderr, "%d siblings (concurrent values); write the resolved value with --context to merge them\n", len(res.Values))
	}
	for _, v := range res.Values {
		if _, err := fmt.Fprintf(k.e.stdout, "%s\n", v); err != nil {
			return err
		}
	}
	fmt.Fprintf(k.e.stderr, "context: %s\n", res.Context)
	return nil
}

func newPutCmd(e *env) *cobra.Command {
	k := &kvCmd{e: e}
	cmd := &cobra.Command{
		Use:   "put KEY VALUE",
		Short: "Write a key (VALUE - reads stdin)",
		Long: `Write VALUE under KEY; VALUE "-" reads the value from stdin.

Pass the context printed by get with --context to supersede the values that
read saw; without it the write is blind and may become a sibling. The new
context is printed on stdout (with --json: context, quorum, replicas).`,
		Args: exactArgs("KEY", "VALUE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			value, err := k.value(args[1])
			if err != nil {
				return err
			}
			return k.do(cmd, func(ctx context.Context, c *client.Client) error {
				return k.printWrite(c.Put(ctx, []byte(args[0]), value, client.WithContext(k.qf.context)))
			})
		},
	}
	k.cf.register(cmd)
	k.qf.register(cmd, true)
	return cmd
}

func newDelCmd(e *env) *cobra.Command {
	k := &kvCmd{e: e}
	cmd := &cobra.Command{
		Use:   "del KEY",
		Short: "Delete a key",
		Long: `Delete KEY (write a tombstone). Pass the context printed by get with
--context so that the values that read saw are superseded. The new context
is printed on stdout (with --json: context, quorum, replicas).`,
		Args: exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return k.do(cmd, func(ctx context.Context, c *client.Client) error {
				return k.printWrite(c.Delete(ctx, []byte(args[0]), client.WithContext(k.qf.context)))
			})
		},
	}
	k.cf.register(cmd)
	k.qf.register(cmd, true)
	return cmd
}

// printWrite prints a write's new context, or the write's error.
func (k *kvCmd) printWrite(res *client.WriteResult, err error) error {
	if err != nil {
		return err
	}
	if k.cf.json {
		return writeJSON(k.e.stdout, writeJSONOut{Context: res.Context,
			Quorum: quorumKind(res.Sloppy), Replicas: nonNil(res.Replicas)})
	}
	_, err = fmt.Fprintln(k.e.stdout, res.Context)
	return err
}

type getJSON struct {
	Found    bool     `json:"found"`
	Values   [][]byte `json:"values"`
	Context  string   `json:"context"`
	Quorum   string   `json:"quorum"`
	Replicas []string `json:"replicas"`
}

type writeJSONOut struct {
	Context  string   `json:"context"`
	Quorum   string   `json:"quorum"`
	Replicas []string `json:"replicas"`
}

func quorumKind(sloppy bool) string {
	if sloppy {
		return "sloppy"
	}
	return "strict"
}

// nonNil makes JSON print [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
