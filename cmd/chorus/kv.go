package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	if len(f.endpoints) == 0 || slices.Contains(f.endpoints, "") {
		return nil, usageError("--endpoints: want host:port addresses, comma separated, got %q", strings.Join(f.endpoints, ","))
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
	fs.IntVarP(&q.n, "n", "n", 0, "replicas N (default: the server's, 3)")
	fs.IntVar(&q.pr, "pr", 0, "primaries among the R replies (default: the server's, 0)")
	fs.IntVarP(&q.r, "r", "r", 0, "read quorum R (default: the server's, 2)")
	if write {
		fs.IntVarP(&q.w, "w", "w", 0, "write quorum W (default: the server's, 2)")
		fs.IntVar(&q.pw, "pw", 0, "primaries among the W acks (default: the server's, 0)")
		fs.BoolVar(&q.noSync, "no-sync", false, "do not sync the write to disk on the replicas (not durable)")
		fs.StringVar(&q.context, "context", "", "causal context of the read this write is based on (printed by get)")
	}
}

// quorum checks the flags: a value given explicitly must be at least 1
// (leave it out for the server's default), and R, W, PR, PW may not exceed
// an explicit N.
func (q *quorumFlags) quorum(cmd *cobra.Command, timeout time.Duration) (client.Quorum, error) {
	for _, f := range []struct {
		name, typed string
		v           int
	}{{"n", "-n", q.n}, {"r", "-r", q.r}, {"w", "-w", q.w}, {"pr", "--pr", q.pr}, {"pw", "--pw", q.pw}} {
		if cmd.Flags().Changed(f.name) && f.v < 1 {
			return client.Quorum{}, usageError("%s must be at least 1, got %d (leave it out for the server's default)", f.typed, f.v)
		}
	}
	cq := client.Quorum{N: q.n, R: q.r, W: q.w, PR: q.pr, PW: q.pw, Timeout: timeout, NotDurable: q.noSync}
	if err := checkQuorum(cq); err != nil {
		return client.Quorum{}, err
	}
	return cq, nil
}

// checkQuorum checks the quorum flags (-n, -r, -w, --pr, --pw) with
// messages that name them; 0 means the server's default.
func checkQuorum(q client.Quorum) error {
	flags := []struct {
		name string
		v    int
	}{{"-n", q.N}, {"-r", q.R}, {"-w", q.W}, {"--pr", q.PR}, {"--pw", q.PW}}
	for _, f := range flags {
		switch {
		case f.v < 0:
			return usageError("%s must not be negative, got %d (leave it out for the server's default)", f.name, f.v)
		case q.N > 0 && f.name != "-n" && f.v > q.N:
			return usageError("%s %d exceeds -n %d", f.name, f.v, q.N)
		}
	}
	if q.PR > 0 && q.R > 0 && q.PR > q.R {
		return usageError("--pr %d exceeds -r %d", q.PR, q.R)
	}
	if q.PW > 0 && q.W > 0 && q.PW > q.W {
		return usageError("--pw %d exceeds -w %d", q.PW, q.W)
	}
	if err := q.Validate(); err != nil {
		return usageError("quorum flags: %v", err)
	}
	return nil
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
		return nil, nil, nil, plainError(err, k.cf.endpoints)
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
	return plainError(op(ctx, c), k.cf.endpoints)
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

One value is printed on stdout as it is, followed by a newline, so that
$(chorus get KEY) is the value. When concurrent writes left siblings,
stdout says how many there are and lists them, each on its own line with
its index and the value Go-quoted ("N siblings:", then [1] "a\nb", ...), so
that a value holding a newline is never taken for two. --separator SEP
prints the raw values instead, joined by SEP (escapes such as \n, \t and
\0 are understood), for scripts. The causal context is printed on stderr
("context: ..."): pass it back with put --context or del --context so that
the write supersedes what was read.

With -o json, stdout is one object: found, values (a list of objects, each
{"value": ..., "encoding": "utf-8"} when the value is valid UTF-8, else
the value in standard base64 with "encoding": "base64"), context, quorum
("strict" or "sloppy") and replicas.

Exit status 3 (and "not found" on stderr) when the key does not exist.`

func newGetCmd(e *env) *cobra.Command {
	k := &kvCmd{e: e}
	var separator string
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Read a key",
		Long:  getLong,
		Args:  exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sep, err := parseSeparator(cmd, separator)
			if err != nil {
				return err
			}
			return k.do(cmd, func(ctx context.Context, c *client.Client) error {
				res, err := c.Get(ctx, []byte(args[0]))
				if err != nil {
					return err
				}
				return k.printGet(res, sep)
			})
		},
	}
	k.cf.register(cmd)
	k.qf.register(cmd, false)
	cmd.Flags().StringVar(&separator, "separator", "", "print the raw values joined by this string (escapes: \\n, \\t, \\0, \\xHH)")
	return cmd
}

// parseSeparator decodes --separator; nil when it was not given.
func parseSeparator(cmd *cobra.Command, sep string) ([]byte, error) {
	if !cmd.Flags().Changed("separator") {
		return nil, nil
	}
	s, err := strconv.Unquote(`"` + strings.ReplaceAll(strings.ReplaceAll(sep, `"`, `\"`), `\0`, `\x00`) + `"`)
	if err != nil {
		return nil, usageError("--separator %q: not a string with Go escapes (\\n, \\t, \\0, \\xHH)", sep)
	}
	if s == "" {
		return nil, usageError("--separator must not be empty")
	}
	return []byte(s), nil
}

func (k *kvCmd) printGet(res *client.Result, sep []byte) error {
	if k.e.jsonOutput() {
		if err := writeJSON(k.e.stdout, newGetJSON(res)); err != nil {
			return err
		}
		if !res.Found {
			return &exitError{code: exitNotFound}
		}
		return nil
	}
	if !res.Found {
		if res.Causal != "" {
			fmt.Fprintf(k.e.stderr, "context: %s\n", res.Causal)
		}
		return &exitError{code: exitNotFound, err: fmt.Errorf("not found")}
	}
	if err := printValues(k.e.stdout, res.Values, sep); err != nil {
		return err
	}
	if len(res.Values) > 1 {
		fmt.Fprintf(k.e.stderr, "write the resolved value with --context to merge the siblings\n")
	}
	fmt.Fprintf(k.e.stderr, "context: %s\n", res.Causal)
	return nil
}

// printValues prints a read's values: joined by sep when it is set, else
// one raw value, or siblings listed with their index and Go-quoted.
func printValues(w io.Writer, values [][]byte, sep []byte) error {
	var b bytes.Buffer
	switch {
	case sep != nil:
		b.Write(bytes.Join(values, sep))
	case len(values) == 1:
		b.Write(values[0])
		b.WriteByte('\n')
	default:
		fmt.Fprintf(&b, "%d siblings:\n", len(values))
		for i, v := range values {
			fmt.Fprintf(&b, "[%d] %s\n", i+1, strconv.Quote(string(v)))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func newPutCmd(e *env) *cobra.Command {
	k := &kvCmd{e: e}
	cmd := &cobra.Command{
		Use:   "put KEY VALUE",
		Short: "Write a key (VALUE - reads stdin)",
		Long: `Write VALUE under KEY; VALUE "-" reads the value from stdin.

Pass the context printed by get with --context to supersede the values that
read saw; without it the write is blind and may become a sibling. The new
context is printed on stdout (with -o json: context, quorum, replicas).`,
		Args: exactArgs("KEY", "VALUE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			value, err := k.value(args[1])
			if err != nil {
				return err
			}
			return k.do(cmd, func(ctx context.Context, c *client.Client) error {
				return k.printWrite(c.Put(ctx, []byte(args[0]), value, client.WithCausal(client.Causal(k.qf.context))))
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
is printed on stdout (with -o json: context, quorum, replicas).`,
		Args: exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return k.do(cmd, func(ctx context.Context, c *client.Client) error {
				return k.printWrite(c.Delete(ctx, []byte(args[0]), client.WithCausal(client.Causal(k.qf.context))))
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
	if k.e.jsonOutput() {
		return writeJSON(k.e.stdout, writeJSONOut{Context: string(res.Causal),
			Quorum: quorumKind(res.Sloppy), Replicas: nonNil(res.Replicas)})
	}
	_, err = fmt.Fprintln(k.e.stdout, res.Causal)
	return err
}

// getJSON is get -o json.
type getJSON struct {
	Found    bool        `json:"found"`
	Values   []valueJSON `json:"values"`
	Context  string      `json:"context"`
	Quorum   string      `json:"quorum"`
	Replicas []string    `json:"replicas"`
}

// valueJSON is one value: the text itself when it is valid UTF-8, else
// standard base64; Encoding says which ("utf-8" or "base64").
type valueJSON struct {
	Value    string `json:"value"`
	Encoding string `json:"encoding"`
}

func newGetJSON(res *client.Result) getJSON {
	out := getJSON{Found: res.Found, Values: []valueJSON{}, Context: string(res.Causal),
		Quorum: quorumKind(res.Sloppy), Replicas: nonNil(res.Replicas)}
	for _, v := range res.Values {
		if utf8.Valid(v) {
			out.Values = append(out.Values, valueJSON{Value: string(v), Encoding: "utf-8"})
		} else {
			out.Values = append(out.Values, valueJSON{Value: base64.StdEncoding.EncodeToString(v), Encoding: "base64"})
		}
	}
	return out
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
