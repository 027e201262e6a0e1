package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/client"
)

const verifyLong = `Check a cluster end to end from a script: write keys and record which were
acknowledged, read them all back, or wait until the cluster has its members.
scripts/compose-test.sh uses these around node kills and partitions:

  chorus verify members --want 5 --wait 60s
  chorus verify write --count 1000 --prefix a- > acked.txt
  chorus verify read --r 3 < acked.txt`

func newVerifyCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Write keys and read them back, or wait for members: a smoke test of a cluster",
		Long:  verifyLong,
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newVerifyWriteCmd(e), newVerifyReadCmd(e), newVerifyMembersCmd(e))
	return cmd
}

// verifyValue is the value verify write stores under key, so that verify
// read can check it without a record of the values.
func verifyValue(key string) []byte { return []byte("chorus-verify:" + key) }

// verifyWorkers is the number of keys written or read at once.
type verifyWorkers struct{ clients int }

func (v *verifyWorkers) register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&v.clients, "clients", 8, "keys in flight at once")
}

// each calls do for every key from clients goroutines at once and
// returns when all calls have returned.
func (v *verifyWorkers) each(keys []string, do func(key string)) {
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(v.clients, max(len(keys), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				do(k)
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
}

// outcome counts the keys of a verify run that failed, and keeps the
// first error.
type outcome struct {
	mu     sync.Mutex
	failed int
	first  error
}

func (o *outcome) fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed++
	if o.first == nil {
		o.first = err
	}
}

func (o *outcome) String() string {
	if o.first == nil {
		return fmt.Sprintf("%d failed", o.failed)
	}
	return fmt.Sprintf("%d failed; first error: %v", o.failed, o.first)
}

func newVerifyWriteCmd(e *env) *cobra.Command {
	k := &kvCmd{e: e}
	var (
		w      verifyWorkers
		count  int
		prefix string
	)
	cmd := &cobra.Command{
		Use:   "write",
		Short: "Write --count keys and print those acknowledged, one a line",
		Long: `Write the keys PREFIX000000 to PREFIX(COUNT-1), each with a value verify read
recognises, and print every key whose write was acknowledged (met its write
quorum) on stdout, one a line, in the order the acknowledgements came. A
write that failed is not retried: it may or may not have been applied, and
only acknowledged writes are promised. stderr gets the counts.

Exit status 1 when no write at all was acknowledged.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if count < 1 || count > 10_000_000 {
				return usageError("--count %d: want 1 to 10000000", count)
			}
			if w.clients < 1 {
				return usageError("--clients %d: want at least 1", w.clients)
			}
			keys := make([]string, count)
			for i := range keys {
				keys[i] = fmt.Sprintf("%s%06d", prefix, i)
			}
			return k.do(cmd, func(_ context.Context, c *client.Client) error {
				var out outcome
				w.each(keys, func(key string) {
					ctx, cancel := context.WithTimeout(cmd.Context(), k.cf.deadline())
					defer cancel()
					if _, err := c.Put(ctx, []byte(key), verifyValue(key)); err != nil {
						out.fail(fmt.Errorf("put %s: %w", key, err))
						return
					}
					fmt.Fprintln(k.e.stdout, key) // one write each: stdout is a lockedWriter
				})
				n := count - out.failed
				fmt.Fprintf(k.e.stderr, "verify write: %d of %d acknowledged, %v\n", n, count, &out)
				if n == 0 {
					return fmt.Errorf("no write was acknowledged")
				}
				return nil
			})
		},
	}
	k.cf.register(cmd)
	k.qf.register(cmd, true)
	w.register(cmd)
	cmd.Flags().IntVar(&count, "count", 1000, "number of keys to write")
	cmd.Flags().StringVar(&prefix, "prefix", "verify-", "prefix of the keys")
	return cmd
}

func newVerifyReadCmd(e *env) *cobra.Command {
	k := &kvCmd{e: e}
	var (
		w        verifyWorkers
		attempts int
	)
	cmd := &cobra.Command{
		Use:   "read [FILE]",
		Short: "Read back every key verify write acknowledged; fail if one is missing",
		Long: `Read every key listed in FILE (one a line, as verify write prints them; stdin
when FILE is - or absent) and check that one of its values is the one verify
write wrote. A read that fails is tried again, --attempts times in all, a
second apart. Keys that are missing, have the wrong value or could not be
read are printed on stdout; stderr gets the counts.

Exit status 1 when any key is missing or could not be read.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if attempts < 1 {
				return usageError("--attempts %d: want at least 1", attempts)
			}
			if w.clients < 1 {
				return usageError("--clients %d: want at least 1", w.clients)
			}
			keys, err := readKeys(k.e.stdin, args)
			if err != nil {
				return err
			}
			return k.do(cmd, func(_ context.Context, c *client.Client) error {
				var out outcome
				w.each(keys, func(key string) {
					if err := verifyKey(cmd.Context(), c, key, attempts, k.cf.deadline()); err != nil {
						fmt.Fprintln(k.e.stdout, key)
						out.fail(err)
					}
				})
				fmt.Fprintf(k.e.stderr, "verify read: %d of %d read back, %v\n", len(keys)-out.failed, len(keys), &out)
				if out.failed > 0 {
					return fmt.Errorf("%d of %d acknowledged keys not read back", out.failed, len(keys))
				}
				return nil
			})
		},
	}
	k.cf.register(cmd)
	k.qf.register(cmd, false)
	w.register(cmd)
	cmd.Flags().IntVar(&attempts, "attempts", 3, "tries per key before it counts as not read")
	return cmd
}

// errMissing is a key read with its quorum that is absent or has lost
// the value verify write wrote: a lost acknowledged write.
var errMissing = errors.New("missing")

// verifyKey reads key, trying again on errors (not on a clean answer that
// the value is missing), and checks its value.
func verifyKey(ctx context.Context, c *client.Client, key string, attempts int, timeout time.Duration) error {
	var err error
	for i := range attempts {
		if i > 0 && waitSecond(ctx) != nil {
			break
		}
		var res *client.Result
		rctx, cancel := context.WithTimeout(ctx, timeout)
		res, err = c.Get(rctx, []byte(key))
		cancel()
		switch {
		case err != nil:
			continue
		case !res.Found:
			return fmt.Errorf("get %s: %w (not found)", key, errMissing)
		case !slices.ContainsFunc(res.Values, func(v []byte) bool { return string(v) == string(verifyValue(key)) }):
			return fmt.Errorf("get %s: %w (%d other values)", key, errMissing, len(res.Values))
		default:
			return nil
		}
	}
	return fmt.Errorf("get %s: %w", key, err)
}

// readKeys reads one key a line from args[0], or from stdin when it is
// "-" or absent; blank lines are skipped.
func readKeys(stdin io.Reader, args []string) ([]string, error) {
	r := stdin
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return nil, usageError("%v", err)
		}
		defer f.Close()
		r = f
	}
	var keys []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if k := strings.TrimSpace(sc.Text()); k != "" {
			keys = append(keys, k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	return keys, nil
}

func newVerifyMembersCmd(e *env) *cobra.Command {
	var (
		cf   clientFlags
		want int
		wait time.Duration
	)
	cmd := &cobra.Command{
		Use:   "members",
		Short: "Wait until the ring has --want members, all active and alive",
		Long: `Ask the cluster for its view every second until its ring has exactly --want
members and every one of them is active (not joining or leaving) and alive,
and print one line whenever the view changes. Exit status 1 when --wait
passes first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if want < 1 {
				return usageError("--want %d: want at least 1", want)
			}
			if wait <= 0 {
				return usageError("--wait %v: want a positive duration", wait)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), wait)
			defer cancel()
			return waitMembers(ctx, e, &cf, want)
		},
	}
	cf.register(cmd)
	cmd.Flags().IntVar(&want, "want", 3, "members the ring must have")
	cmd.Flags().DurationVar(&wait, "wait", time.Minute, "give up after this long")
	return cmd
}

// waitMembers polls the cluster until its ring has want active, alive
// members, or ctx ends. Connection failures count as "not yet": the
// cluster may still be starting.
func waitMembers(ctx context.Context, e *env, cf *clientFlags, want int) error {
	last := ""
	for {
		view, done := membersView(ctx, cf, want)
		if view != last {
			fmt.Fprintf(e.stdout, "verify members: %s\n", view)
			last = view
		}
		if done {
			return nil
		}
		if waitSecond(ctx) != nil {
			return fmt.Errorf("the ring did not reach %d active, alive members in time (last view: %s)", want, last)
		}
	}
}

// membersView describes the cluster's ring in one line and says whether
// it has want active, alive members.
func membersView(ctx context.Context, cf *clientFlags, want int) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, cf.deadline())
	defer cancel()
	c, err := cf.connect(ctx, client.Quorum{})
	if err != nil {
		return "no answer: " + err.Error(), false
	}
	defer c.Close()
	ci, err := c.Cluster(ctx)
	if err != nil {
		return "no answer: " + err.Error(), false
	}
	var parts []string
	ready := 0
	for _, m := range ci.Members {
		if m.Status == "removed" {
			continue
		}
		state := m.Status
		if !m.Alive {
			state += ",down"
		}
		if m.Status == "active" && m.Alive {
			ready++
		}
		parts = append(parts, m.ID+"="+state)
	}
	slices.Sort(parts)
	view := fmt.Sprintf("ring %d, %d active and alive: %s", ci.RingSize, ready, strings.Join(parts, " "))
	return view, ci.RingSize == want && ready == want
}
