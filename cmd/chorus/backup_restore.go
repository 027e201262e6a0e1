package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/backup"
	"github.com/chorusdb/chorus/client"
	"github.com/chorusdb/chorus/server"
)

// restoreFlags are chorus restore's own flags.
type restoreFlags struct {
	dryRun     bool
	w          int
	batchKeys  int
	batchBytes int
}

func newRestoreCmd(e *env) *cobra.Command {
	var cf clientFlags
	var rf restoreFlags
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Merge a backup into a running cluster",
		Long: `Restore the backup FILE into a running cluster. The whole file is checked
first (every block's checksum, the trailer's counts); a damaged or truncated
file is refused with the byte offset of the bad block, and nothing is
restored. Then every key's backed-up set is merged into the key's N
replicas, as replicas merge on replication: a value written since the
backup stays, a concurrent one stays beside the restored one as a sibling,
and a deleted key stays deleted if the delete saw the backed-up value. A key
counts as restored with W acknowledgements (-w, default the nodes'); a key
that gets fewer is reported, and the command exits 1 at the end with the
counts.

With --dry-run nothing is written: each key's replicas are read and the
keys are counted as new to the cluster, adding versions or siblings, or
already covered; "clashes" counts keys whose backup and cluster values carry
the same version dot, which happens when nodes were wiped, kept their IDs
and took writes before the restore (one of the two values would be lost).
Needs the admin role when auth is on.`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rf.w < 0 || rf.batchKeys < 1 || rf.batchBytes < 1<<10 {
				return usageError("-w must be >= 0, --batch-keys >= 1 and --batch-bytes >= 1024 (got %d, %d, %d)", rf.w, rf.batchKeys, rf.batchBytes)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			f.Close()
			h, err := cf.conn.http()
			if err != nil {
				return err
			}
			ci, err := fetchCluster(cmd, &cf)
			if err != nil {
				return err
			}
			return runRestore(cmd.Context(), e, streamingHTTP(h), ci, args[0], rf)
		},
	}
	cf.register(cmd)
	fs := cmd.Flags()
	fs.BoolVar(&rf.dryRun, "dry-run", false, "report what the restore would change, write nothing")
	fs.IntVarP(&rf.w, "w", "w", 0, "acknowledgements each key needs (0: the nodes' default W)")
	fs.IntVar(&rf.batchKeys, "batch-keys", 1000, "keys per request to a node")
	fs.IntVar(&rf.batchBytes, "batch-bytes", 4<<20, "bytes of sets per request to a node")
	return cmd
}

// restoreSummary is what chorus restore reports.
type restoreSummary struct {
	File      string                  `json:"file"`
	DryRun    bool                    `json:"dry_run"`
	Keys      int                     `json:"keys"`
	Applied   int                     `json:"applied"`
	Failed    int                     `json:"failed"`
	New       int                     `json:"new"`
	Adds      int                     `json:"adds"`
	Covered   int                     `json:"covered"`
	Clashes   int                     `json:"clashes"`
	ElapsedMS float64                 `json:"elapsed_ms"`
	Failures  []server.RestoreFailure `json:"failures"`
}

func (s *restoreSummary) add(r server.RestoreResult) {
	s.Keys += r.Keys
	s.Applied += r.Applied
	s.Failed += r.Failed
	s.New += r.New
	s.Adds += r.Adds
	s.Covered += r.Covered
	s.Clashes += r.Clashes
	if room := 20 - len(s.Failures); room > 0 {
		s.Failures = append(s.Failures, r.Failures[:min(room, len(r.Failures))]...)
	}
}

func runRestore(ctx context.Context, e *env, h *httpAPI, ci *client.ClusterInfo, path string, rf restoreFlags) error {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := max(st.Size(), 1)
	// Pass 1: the whole file is checked before anything is sent.
	check := startProgress(e.stderr, "verify ")
	vs, err := backup.Verify(bufio.NewReaderSize(f, 1<<20), func(keys, off int64) {
		check.set(keys, off, float64(off)/float64(size))
	})
	check.end(err == nil)
	if err != nil {
		return fmt.Errorf("%s: %w; nothing was restored", path, err)
	}
	if vs.Header.Partitions != 0 && vs.Header.Partitions != ci.Partitions {
		fmt.Fprintf(e.stderr, "note: the backup was taken with %d partitions, the cluster has %d; keys go to their replicas in this cluster\n",
			vs.Header.Partitions, ci.Partitions)
	}
	addrs, order := liveHTTP(ci)
	if len(order) == 0 {
		return errors.New("no live node with an HTTP address")
	}
	// Pass 2: batches to the live nodes in turn.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r, err := backup.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return err
	}
	q := url.Values{}
	if rf.dryRun {
		q.Set("dry_run", "true")
	}
	if rf.w > 0 {
		q.Set("w", strconv.Itoa(rf.w))
	}
	query := ""
	if len(q) > 0 {
		query = "?" + q.Encode()
	}
	what := "restore"
	if rf.dryRun {
		what = "dry run"
	}
	prog := startProgress(e.stderr, what)
	defer func() {
		if prog != nil {
			prog.end(false)
		}
	}()
	sum := restoreSummary{File: path, DryRun: rf.dryRun, Failures: []server.RestoreFailure{}}
	b := &batcher{h: h, nodes: order, addrs: addrs, query: query}
	var recs []backup.Record
	size2 := 0
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		res, err := b.send(ctx, recs)
		if err != nil {
			return err
		}
		sum.add(res)
		recs, size2 = recs[:0], 0
		prog.set(int64(sum.Keys), r.Offset(), float64(r.Offset())/float64(size))
		return nil
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s changed since it was checked: %w (%d keys sent)", path, err, sum.Keys)
		}
		recs = append(recs, rec)
		size2 += len(rec.Key) + rec.Size
		if len(recs) >= rf.batchKeys || size2 >= rf.batchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	prog.set(int64(sum.Keys), r.Offset(), 1)
	prog.end(true)
	prog = nil
	sum.ElapsedMS = msOf(time.Since(start))
	if err := printTableOrJSON(e, sum, func() error { return printRestore(e.stdout, sum, time.Since(start)) }); err != nil {
		return err
	}
	if sum.Failed > 0 {
		first := ""
		if len(sum.Failures) > 0 {
			first = fmt.Sprintf(" (first: %s: %s)", sum.Failures[0].Key, sum.Failures[0].Error)
		}
		return fmt.Errorf("%d of %d keys failed%s", sum.Failed, sum.Keys, first)
	}
	return nil
}

func printRestore(w io.Writer, s restoreSummary, el time.Duration) error {
	if s.DryRun {
		_, err := fmt.Fprintf(w, "dry run of %s: %d keys: %d new to the cluster, %d would add versions or siblings, %d already covered, %d clashes, %d unreadable (%v)\n",
			s.File, s.Keys, s.New, s.Adds, s.Covered, s.Clashes, s.Failed, el.Round(time.Millisecond))
		return err
	}
	_, err := fmt.Fprintf(w, "restored %d of %d keys from %s, %d failed, in %v\n", s.Applied, s.Keys, s.File, s.Failed, el.Round(time.Millisecond))
	for _, f := range s.Failures {
		fmt.Fprintf(w, "  failed %s: %s\n", f.Key, f.Error)
	}
	return err
}

// batcher sends restore batches to the live nodes in turn, the next node
// when one cannot take a batch.
type batcher struct {
	h     *httpAPI
	nodes []string
	addrs map[string]string
	query string
	next  int
}

func (b *batcher) send(ctx context.Context, recs []backup.Record) (server.RestoreResult, error) {
	var body bytes.Buffer
	w, err := backup.NewWriter(&body, backup.Header{Source: "chorus restore"}, 0)
	if err != nil {
		return server.RestoreResult{}, err
	}
	for _, r := range recs {
		if err := w.Add(r.Key, r.Set); err != nil {
			return server.RestoreResult{}, err
		}
	}
	if err := w.Close(); err != nil {
		return server.RestoreResult{}, err
	}
	var errs []string
	for range b.nodes {
		id := b.nodes[b.next%len(b.nodes)]
		b.next++
		res, err := b.post(ctx, b.addrs[id], body.Bytes())
		if err == nil {
			return res, nil
		}
		var ee *exitError
		if errors.As(err, &ee) || ctx.Err() != nil {
			return res, err
		}
		errs = append(errs, fmt.Sprintf("%s: %v", id, err))
	}
	return server.RestoreResult{}, fmt.Errorf("no node took a batch of %d keys: %s", len(recs), strings.Join(errs, "; "))
}

func (b *batcher) post(ctx context.Context, addr string, body []byte) (server.RestoreResult, error) {
	var res server.RestoreResult
	resp, err := b.h.send(ctx, http.MethodPost, addr, "/v1/admin/restore"+b.query, bytes.NewReader(body))
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return res, json.NewDecoder(resp.Body).Decode(&res)
	case resp.StatusCode/100 == 4:
		return res, usageError("%s", errorBody(resp))
	}
	return res, errors.New(errorBody(resp))
}
