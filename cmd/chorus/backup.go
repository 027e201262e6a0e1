package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/backup"
	"github.com/chorusdb/chorus/client"
)

// backupAttempts is how many nodes a partition is asked of before the
// backup fails.
const backupAttempts = 3

func newBackupCmd(e *env) *cobra.Command {
	var cf clientFlags
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "Back the cluster up into a file, online",
		Long: `Back up every key of a running cluster into FILE. Each partition is read
from all its replicas and merged (siblings and tombstones kept), by a node
that paces its reads (--backup-* node settings) so that client requests
keep their latency. Progress (partitions, keys, bytes, rate, ETA) goes to
stderr. The file is written to FILE.partial and renamed to FILE only once
complete; a partition no replica can be read from fails the backup.

A key written while the backup runs may or may not be in it; every key
acknowledged before it started is. Needs the admin role when auth is on.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError("--out FILE is required")
			}
			if _, err := os.Stat(out); err == nil && !force {
				return usageError("%s exists; pass --force to replace it", out)
			}
			h, err := cf.conn.http()
			if err != nil {
				return err
			}
			ci, err := fetchCluster(cmd, &cf)
			if err != nil {
				return err
			}
			return runBackup(cmd.Context(), e, streamingHTTP(h), ci, out)
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "file to write the backup to")
	cmd.Flags().BoolVar(&force, "force", false, "replace --out if it exists")
	return cmd
}

// streamingHTTP returns h without its whole-request timeout: a backup
// stream or a restore batch may take longer, and each has a context.
func streamingHTTP(h *httpAPI) *httpAPI {
	c := *h.client
	c.Timeout = 0
	return &httpAPI{client: &c, scheme: h.scheme, token: h.token}
}

// send is do with a body.
func (h *httpAPI) send(ctx context.Context, method, addr, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, h.scheme+"://"+addr+path, body)
	if err != nil {
		return nil, err
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-chorus-backup")
	}
	return h.client.Do(req)
}

// liveHTTP returns the HTTP addresses of the members seen alive, by ID.
func liveHTTP(ci *client.ClusterInfo) (map[string]string, []string) {
	addrs := map[string]string{}
	var order []string
	for _, m := range ci.Members {
		if m.Alive && m.HTTPAddr != "" {
			addrs[m.ID] = m.HTTPAddr
			order = append(order, m.ID)
		}
	}
	return addrs, order
}

// backupSummary is what chorus backup reports.
type backupSummary struct {
	File       string             `json:"file"`
	Keys       int64              `json:"keys"`
	Bytes      int64              `json:"bytes"`
	Partitions int                `json:"partitions"`
	ElapsedMS  float64            `json:"elapsed_ms"`
	Partial    []partialPartition `json:"partial_partitions"`
}

// partialPartition is a partition read from fewer replicas than it has.
type partialPartition struct {
	Partition uint32 `json:"partition"`
	Read      int    `json:"read"`
	Asked     int    `json:"asked"`
}

func runBackup(ctx context.Context, e *env, h *httpAPI, ci *client.ClusterInfo, out string) error {
	addrs, order := liveHTTP(ci)
	if ci.Partitions <= 0 || len(ci.Owners) != ci.Partitions || len(order) == 0 {
		return fmt.Errorf("the cluster has no ring or no live node with an HTTP address (%d partitions, %d live)", ci.Partitions, len(order))
	}
	tmp := out + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return usageError("--out: %v", err)
	}
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	buf := bufio.NewWriterSize(f, 1<<20)
	ids := make([]string, len(ci.Members))
	for i, m := range ci.Members {
		ids[i] = m.ID
	}
	start := time.Now()
	w, err := backup.NewWriter(buf, backup.Header{CreatedAt: start.UTC(), Partitions: ci.Partitions,
		Replicas: ci.Replicas, Members: ids, Source: "chorus backup"}, 0)
	if err != nil {
		return err
	}
	prog := startProgress(e.stderr, "backup")
	defer func() {
		if prog != nil {
			prog.end(false)
		}
	}()
	sum := backupSummary{File: out, Partitions: ci.Partitions, Partial: []partialPartition{}}
	for p := range ci.Partitions {
		info, err := backupPartition(ctx, h, w, uint32(p), candidates(ci.Owners[p], order, addrs), addrs, prog)
		if err != nil {
			return fmt.Errorf("%w; the backup is incomplete and was not written to %s (%v elapsed)", err, out, time.Since(start).Round(time.Millisecond))
		}
		if info.Read < info.Asked {
			sum.Partial = append(sum.Partial, partialPartition{Partition: info.Partition, Read: info.Read, Asked: info.Asked})
		}
		if err := w.EndPartition(info); err != nil {
			return err
		}
		prog.set(w.Keys(), w.Written(), float64(p+1)/float64(ci.Partitions))
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := errors.Join(buf.Flush(), f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	f = nil
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return err
	}
	prog.set(w.Keys(), w.Written(), 1)
	prog.end(true)
	prog = nil
	sum.Keys, sum.Bytes, sum.ElapsedMS = w.Keys(), w.Written(), msOf(time.Since(start))
	return printTableOrJSON(e, sum, func() error {
		fmt.Fprintf(e.stdout, "backed up %d keys of %d partitions to %s (%s) in %v\n", sum.Keys, sum.Partitions,
			out, sizeOf(sum.Bytes), time.Since(start).Round(time.Millisecond))
		if len(sum.Partial) > 0 {
			var parts []string
			for _, p := range sum.Partial {
				parts = append(parts, fmt.Sprintf("%d (%d of %d)", p.Partition, p.Read, p.Asked))
			}
			fmt.Fprintf(e.stdout, "warning: %d partitions were read from fewer replicas than they have (a replica was down): %s\n",
				len(sum.Partial), strings.Join(parts, ", "))
		}
		return nil
	})
}

// candidates are the nodes to ask for a partition: its live primaries
// first (they read their own copy locally), then the other live nodes.
func candidates(owners, order []string, addrs map[string]string) []string {
	var c []string
	seen := map[string]bool{}
	for _, id := range append(append([]string{}, owners...), order...) {
		if addrs[id] != "" && !seen[id] {
			seen[id] = true
			c = append(c, id)
		}
	}
	return c
}

// backupPartition copies partition p's stream from the first node of
// nodes that serves it whole into w. A stream that fails partway is asked
// of the next node; the records already copied stay (a key may then be in
// the file twice, which a restore merges as once).
func backupPartition(ctx context.Context, h *httpAPI, w *backup.Writer, p uint32, nodes []string,
	addrs map[string]string, prog *progress) (backup.PartitionInfo, error) {
	var errs []string
	for i, id := range nodes {
		if i == backupAttempts {
			break
		}
		info, err := streamPartition(ctx, h, w, p, addrs[id], prog)
		if err == nil {
			return info, nil
		}
		var ee *exitError
		if errors.As(err, &ee) || ctx.Err() != nil {
			return info, err
		}
		errs = append(errs, fmt.Sprintf("%s: %v", id, err))
	}
	return backup.PartitionInfo{}, fmt.Errorf("partition %d could not be read from any replica: %s", p, strings.Join(errs, "; "))
}

func streamPartition(ctx context.Context, h *httpAPI, w *backup.Writer, p uint32, addr string, prog *progress) (backup.PartitionInfo, error) {
	resp, err := h.send(ctx, http.MethodGet, addr, fmt.Sprintf("/v1/admin/backup/partitions/%d", p), nil)
	if err != nil {
		return backup.PartitionInfo{}, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return backup.PartitionInfo{}, usageError("%s", errorBody(resp))
	case resp.StatusCode != http.StatusOK:
		return backup.PartitionInfo{}, errors.New(errorBody(resp))
	}
	r, err := backup.NewReader(resp.Body)
	if err != nil {
		return backup.PartitionInfo{}, err
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return backup.PartitionInfo{}, err
		}
		if err := w.Add(rec.Key, rec.Set); err != nil {
			return backup.PartitionInfo{}, &exitError{code: exitRuntime, err: err}
		}
		prog.set(w.Keys(), w.Written(), math.Float64frombits(prog.frac.Load()))
	}
	parts := r.Partitions()
	if len(parts) != 1 || parts[0].Partition != p {
		return backup.PartitionInfo{}, fmt.Errorf("the stream of partition %d described %+v", p, parts)
	}
	return parts[0], nil
}

// progress prints a line every second from its own goroutine, whether
// or not work moved (a backup may wait on a node's pacing): done
// fraction, keys, bytes, rates and ETA. Its setters are safe for
// concurrent use.
type progress struct {
	w     io.Writer
	what  string
	start time.Time
	keys  atomic.Int64
	bytes atomic.Int64
	frac  atomic.Uint64 // math.Float64bits of the done fraction
	stop  chan struct{}
	done  chan struct{}
}

// startProgress starts printing progress lines to w until end.
func startProgress(w io.Writer, what string) *progress {
	p := &progress{w: w, what: what, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.print()
			}
		}
	}()
	return p
}

// set records the work done: keys, bytes and the done fraction.
func (p *progress) set(keys, bytes int64, fraction float64) {
	p.keys.Store(keys)
	p.bytes.Store(bytes)
	p.frac.Store(math.Float64bits(fraction))
}

// end stops the lines; with final set, it prints the last one.
func (p *progress) end(final bool) {
	close(p.stop)
	<-p.done
	if final {
		p.print()
	}
}

func (p *progress) print() {
	keys, bytes, fraction := p.keys.Load(), p.bytes.Load(), math.Float64frombits(p.frac.Load())
	el := time.Since(p.start)
	secs := max(el.Seconds(), 1e-3)
	eta := "-"
	if fraction > 0 && fraction < 1 {
		eta = (time.Duration(float64(el) * (1 - fraction) / fraction)).Round(time.Second).String()
	}
	const width = 20
	n := min(max(int(fraction*width), 0), width)
	bar := strings.Repeat("#", n) + strings.Repeat(".", width-n)
	fmt.Fprintf(p.w, "%s [%s] %3.0f%%  %d keys  %s  %.0f keys/s  %s/s  elapsed %v  ETA %s\n", p.what, bar,
		100*fraction, keys, sizeOf(bytes), float64(keys)/secs, sizeOf(int64(float64(bytes)/secs)),
		el.Round(time.Second), eta)
}

func sizeOf(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
