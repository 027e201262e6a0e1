package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/chorusdb/chorus/backup"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/vclock"
)

// BackupContentType is the media type of a backup stream on the HTTP API.
const BackupContentType = "application/x-chorus-backup"

// backupBlockWrite bounds the write of one block of a partition stream:
// the server's WriteTimeout bounds a whole answer, and a paced partition
// may take longer than that, so each block moves the deadline on.
const backupBlockWrite = time.Minute

// streamWriter writes a backup stream to an HTTP answer block by block,
// moving the write deadline on and flushing after each.
type streamWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s streamWriter) Write(b []byte) (int, error) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(backupBlockWrite)) // unsupported by recorders in tests
	n, err := s.w.Write(b)
	if err == nil {
		_ = s.rc.Flush()
	}
	return n, err
}

// servePartition answers GET /v1/admin/backup/partitions/{p}: the
// partition's keys, each the merge of every primary's copy, as a backup
// stream ending with a partition block (how many replicas were read) and
// a trailer. A partition no replica answers for is a 503 before any
// stream; replicas failing later leave the merge, and when the last one
// does the stream ends with an error block, never a trailer, so the
// reader cannot take it for a whole partition.
func (b *backupService) servePartition(w http.ResponseWriter, r *http.Request) {
	rg := b.ring()
	if rg == nil {
		writeError(w, http.StatusServiceUnavailable, "no ring yet")
		return
	}
	raw := r.PathValue("p")
	p, err := strconv.ParseUint(raw, 10, 32)
	if err != nil || p >= uint64(rg.Partitions()) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("partition %s: want a number from 0 to %d", quoteInput(raw), rg.Partitions()-1))
		return
	}
	primaries := rg.Primaries(uint32(p))
	cursors := make([]backup.Cursor, len(primaries))
	rcs := make([]*replicaCursor, len(primaries))
	for i, node := range primaries {
		rcs[i] = b.cursor(node, uint32(p))
		cursors[i] = rcs[i]
	}
	m := backup.NewMerger(scanOrder, cursors)
	ctx := r.Context()
	key, set, ok, err := m.Next(ctx)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("backup of partition %d: no replica of %v answered: %v", p, primaries, err))
		return
	}
	w.Header().Set("Content-Type", BackupContentType)
	w.WriteHeader(http.StatusOK)
	h := backup.Header{CreatedAt: time.Now().UTC(), Partitions: rg.Partitions(), Replicas: rg.Replicas(),
		Members: primaries, Source: fmt.Sprintf("node %s, partition %d", b.self, p)}
	bw, err := backup.NewWriter(streamWriter{w: w, rc: http.NewResponseController(w)}, h, 0)
	if err != nil {
		return // the client went away
	}
	for ; ok; key, set, ok, err = m.Next(ctx) {
		if err := bw.Add(key, set); err != nil {
			return
		}
	}
	if err != nil {
		b.log.Warn("backup: partition stream failed", "partition", p, "keys", bw.Keys(), "err", err)
		_ = bw.Fail(fmt.Sprintf("partition %d: every replica failed after %d keys: %v", p, bw.Keys(), err))
		return
	}
	info := backup.PartitionInfo{Partition: uint32(p), Asked: len(primaries), Keys: bw.Keys()}
	for i, e := range m.Errors() {
		if e == nil {
			info.Read++
			if rcs[i].complete {
				info.Complete++
			}
		} else {
			b.log.Warn("backup: a replica left the merge", "partition", p, "replica", primaries[i], "err", e)
		}
	}
	if bw.EndPartition(info) == nil {
		_ = bw.Close()
	}
}

// RestoreResult is the answer to a restore batch.
type RestoreResult struct {
	DryRun bool `json:"dry_run"`
	// Keys is the number of records in the batch.
	Keys int `json:"keys"`
	// Applied counts the keys merged on at least W replicas.
	Applied int `json:"applied"`
	// Failed counts the keys that were not (or, in a dry run, that no
	// replica could be read for).
	Failed int `json:"failed"`
	// New, Adds and Covered classify the keys of a dry run
	// (backup.Classify against the merge of the replicas that answered).
	New     int `json:"new"`
	Adds    int `json:"adds"`
	Covered int `json:"covered"`
	// Clashes counts the keys of a dry run where the backup and the
	// cluster hold different values under one dot (backup.Clash): nodes
	// wiped that kept their IDs and took writes; a restore would keep
	// one of the two values.
	Clashes int `json:"clashes"`
	// Failures name some of the failed keys (at most 20).
	Failures []RestoreFailure `json:"failures,omitempty"`
}

// RestoreFailure is one key a restore could not apply.
type RestoreFailure struct {
	Key   string `json:"key"`
	Error string `json:"error"`
}

// restoreOptions are a restore batch's query parameters.
type restoreOptions struct {
	dryRun bool
	n, w   int
}

func (b *backupService) restoreOptions(r *http.Request, rg *ring.Ring) (restoreOptions, error) {
	q := r.URL.Query()
	for k := range q {
		if k != "dry_run" && k != "w" {
			return restoreOptions{}, fmt.Errorf("unknown parameter %s (dry_run, w)", quoteInput(k))
		}
	}
	def := b.defaults
	def.Defaulted = replica.AllDefaulted
	def = def.Fit(rg.Size())
	o := restoreOptions{n: def.N, w: def.W}
	if v := q.Get("dry_run"); v != "" {
		d, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("dry_run=%s: want true or false", quoteInput(v))
		}
		o.dryRun = d
	}
	if v := q.Get("w"); v != "" {
		w, err := strconv.Atoi(v)
		if err != nil || w < 1 || w > o.n {
			return o, fmt.Errorf("w=%s: want 1 to n=%d", quoteInput(v), o.n)
		}
		o.w = w
	}
	return o, nil
}

// serveRestore answers POST /v1/admin/restore: the body, a backup stream,
// is read and checked whole before any key is merged (a corrupt or
// truncated batch is a 400 naming the byte, and changes nothing); then
// each key's set is merged into its N primaries, as replication merges
// (storage Merge: a newer write stays, no sibling is dropped), and counts
// as applied with W acks. With dry_run=true nothing is written: each
// key's replicas are read and the batch is classified.
func (b *backupService) serveRestore(w http.ResponseWriter, r *http.Request) {
	rg := b.ring()
	if rg == nil {
		writeError(w, http.StatusServiceUnavailable, "no ring yet")
		return
	}
	opts, err := b.restoreOptions(r, rg)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	recs, err := readBatch(http.MaxBytesReader(w, r.Body, b.cfg.MaxRestoreBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("restore batch over %d bytes; send smaller batches", tooBig.Limit))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "restore batch refused, nothing applied: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, b.restore(r.Context(), rg, opts, recs))
}

// readBatch reads a whole restore batch and checks it.
func readBatch(body io.Reader) ([]backup.Record, error) {
	br, err := backup.NewReader(body)
	if err != nil {
		return nil, err
	}
	var recs []backup.Record
	for {
		rec, err := br.Next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
}

// restore applies (or classifies) recs on restoreWorkers workers.
func (b *backupService) restore(ctx context.Context, rg *ring.Ring, opts restoreOptions, recs []backup.Record) RestoreResult {
	res := RestoreResult{DryRun: opts.dryRun, Keys: len(recs)}
	var mu sync.Mutex
	next := make(chan backup.Record)
	var wg sync.WaitGroup
	for range min(restoreWorkers, len(recs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rec := range next {
				change, err := b.restoreKey(ctx, rg, opts, rec)
				mu.Lock()
				res.note(rec.Key, change, err)
				mu.Unlock()
			}
		}()
	}
	for _, rec := range recs {
		next <- rec
	}
	close(next)
	wg.Wait()
	return res
}

func (res *RestoreResult) note(key []byte, change backup.Change, err error) {
	if err != nil {
		res.Failed++
		if len(res.Failures) < maxReportedFailures {
			res.Failures = append(res.Failures, RestoreFailure{Key: quoteInput(string(key)), Error: err.Error()})
		}
		return
	}
	if !res.DryRun {
		res.Applied++
		return
	}
	switch change {
	case backup.New:
		res.New++
	case backup.Adds:
		res.Adds++
	case backup.Clash:
		res.Clashes++
	default:
		res.Covered++
	}
}

// restoreKey merges rec into its key's primaries, or in a dry run reads
// them and classifies rec.
func (b *backupService) restoreKey(ctx context.Context, rg *ring.Ring, opts restoreOptions, rec backup.Record) (backup.Change, error) {
	if err := b.db.CheckKey(rec.Key); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, restoreKeyTimeout)
	defer cancel()
	p := rg.Partition(rec.Key)
	targets := rg.PartitionPreferenceList(p, opts.n)
	type answer struct {
		set vclock.Set
		err error
	}
	answers := make(chan answer, len(targets))
	for _, node := range targets {
		go func() {
			var a answer
			switch {
			case opts.dryRun && node == b.self:
				a.set, a.err = b.db.Get(ctx, p, rec.Key)
				if errors.Is(a.err, storage.ErrNotFound) {
					a.err = nil
				}
			case opts.dryRun:
				a.set, a.err = b.peers.Fetch(ctx, node, p, rec.Key)
				var partial interface{ Partial() bool }
				if errors.As(a.err, &partial) && partial.Partial() {
					a.err = nil // a new owner's copy still counts: what it has, it has
				}
			case node == b.self:
				_, _, a.err = b.db.Merge(ctx, p, rec.Key, rec.Set, true)
			default:
				a.err = b.peers.Replicate(ctx, node, p, rec.Key, rec.Set, true, "")
			}
			if a.err != nil {
				a.err = fmt.Errorf("%s: %w", node, a.err)
			}
			answers <- a
		}()
	}
	var merged vclock.Set
	var errs []error
	ok := 0
	for range targets {
		a := <-answers
		if a.err != nil {
			errs = append(errs, a.err)
			continue
		}
		ok++
		merged = vclock.Sync(merged, a.set)
	}
	if opts.dryRun {
		if ok == 0 {
			return 0, fmt.Errorf("no replica of %v answered: %w", targets, errors.Join(errs...))
		}
		return backup.Classify(merged, rec.Set), nil
	}
	if ok < opts.w {
		return 0, fmt.Errorf("merged on %d of %d replicas, want w=%d: %w", ok, len(targets), opts.w, errors.Join(errs...))
	}
	return 0, nil
}
