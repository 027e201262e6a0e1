package commitlog

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/chorusdb/chorus/storage/vfs"
)

// Position is a place in the log: a segment and a byte offset in it.
// Positions order the log: every record appended before a position is
// before it.
type Position struct {
	Seq    uint64
	Offset int64
}

// Less reports whether p is before q.
func (p Position) Less(q Position) bool {
	return p.Seq < q.Seq || p.Seq == q.Seq && p.Offset < q.Offset
}

func (p Position) String() string { return fmt.Sprintf("%016x.log:%d", p.Seq, p.Offset) }

// Log is an append-only commit log in a directory of segment files.
//
// Append, Rotate, RetireBefore, Replay and Close are for one writer
// goroutine at a time; Sync, Stats and Size may be called from any
// goroutine, concurrently with them. That is what lets one goroutine sync
// a batch while another appends the next.
type Log struct {
	fs  vfs.FS
	dir string
	cfg Config

	// syncMu serializes Sync and Rotate, so a segment is never closed
	// under a sync of it. Lock order: syncMu, then mu.
	syncMu sync.Mutex
	synced Position // guarded by syncMu: everything before it is durable

	mu     sync.Mutex // guards the fields below
	segs   []uint64   // live segments, ascending; the last is cur's
	cur    vfs.File
	off    int64 // end of cur's records
	failed error // set when the log can no longer be trusted
	closed bool
	buf    []byte // Append's write buffer
	stats  Stats
}

// logf reports what Open repaired, if the Config has a Logf.
func (l *Log) logf(format string, args ...any) {
	if l.cfg.Logf != nil {
		l.cfg.Logf(format, args...)
	}
}

// Stats are counters since Open.
type Stats struct {
	// Appended is the number of record bytes appended (headers included).
	Appended int64
	// Syncs is the number of fdatasyncs of a segment with new records.
	Syncs int64
	// Segments is the number of live segment files.
	Segments int
}

// segName is a segment's file name: its sequence number in 16 hex digits.
func segName(seq uint64) string { return fmt.Sprintf("%016x.log", seq) }

func parseSegName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, ".log")
	if !ok || len(hex) != 16 {
		return 0, false
	}
	seq, err := strconv.ParseUint(hex, 16, 64)
	return seq, err == nil
}

func (l *Log) path(seq uint64) string { return filepath.Join(l.dir, segName(seq)) }

// Open opens the log in dir (creating dir if needed) for appending. It
// makes the last segment end cleanly: a torn tail is cut off, and a last
// segment with a torn header is removed; then it starts a new segment. Records of earlier runs stay until RetireBefore; Replay
// reads them. Files in dir that are not segments are ignored.
func Open(fsys vfs.FS, dir string, cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Log{fs: fsys, dir: dir, cfg: cfg.withDefaults()}
	if err := fsys.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("commitlog: open: %w", err)
	}
	names, err := fsys.List(dir)
	if err != nil {
		return nil, fmt.Errorf("commitlog: open: %w", err)
	}
	for _, name := range names {
		if seq, ok := parseSegName(name); ok {
			l.segs = append(l.segs, seq)
		}
	}
	if len(l.segs) > 0 {
		if err := l.repairLast(); err != nil {
			return nil, err
		}
	}
	next := uint64(1)
	if n := len(l.segs); n > 0 {
		next = l.segs[n-1] + 1
	}
	if err := l.startSegment(next); err != nil {
		return nil, err
	}
	l.synced = Position{next, HeaderLen}
	return l, nil
}

// repairLast makes the last segment end at its last good record, cutting
// off a torn tail. A last segment whose header is torn (a crash while it
// was being created) holds no record and is removed; the one before it,
// synced by Rotate before this one was created, must then end cleanly.
// An empty last segment stays: removing it would make the one before
// look like the last, whose bad records pass for a torn tail.
func (l *Log) repairLast() error {
	seq := l.segs[len(l.segs)-1]
	name := l.path(seq)
	f, err := l.fs.Open(name)
	if err != nil {
		return fmt.Errorf("commitlog: open: %w", err)
	}
	defer f.Close()
	size, end, torn, err := scanSegment(f, seq, name, nil)
	switch {
	case errors.Is(err, errTorn):
		return l.removeTornLast(seq)
	case err != nil:
		return fmt.Errorf("commitlog: open: %w", err)
	case size == end:
		return nil
	}
	if torn != nil {
		l.logf("commitlog: %s: cutting a torn tail: %v", name, torn)
	}
	if err := f.Truncate(end); err != nil {
		return fmt.Errorf("commitlog: open: cut %s at %d: %w", name, end, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("commitlog: open: cut %s at %d: %w", name, end, err)
	}
	return nil
}

// removeTornLast removes the last segment, whose header is torn, and
// checks that the segment before it ends cleanly.
func (l *Log) removeTornLast(seq uint64) error {
	if err := l.fs.Remove(l.path(seq)); err != nil {
		return fmt.Errorf("commitlog: open: remove segment with a torn header: %w", err)
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("commitlog: open: %w", err)
	}
	l.segs = l.segs[:len(l.segs)-1]
	if len(l.segs) == 0 {
		return nil
	}
	if err := l.replaySegment(l.segs[len(l.segs)-1], false, nil); err != nil {
		return fmt.Errorf("commitlog: open: %w", err)
	}
	return nil
}

// scanSegment checks segment seq's header and scans its records (calling
// fn if not nil): it returns the file's size, the end of the good
// records, and torn if they end on a bad record. A torn or bad header is
// an error (errTorn for one a crash can leave).
func scanSegment(f vfs.File, seq uint64, name string, fn func([]byte) error) (size, end int64, torn, err error) {
	size, err = f.Size()
	if err != nil {
		return 0, 0, nil, err
	}
	if err := checkHeader(f, size, seq, name); err != nil {
		return size, 0, nil, err
	}
	end, torn, err = scanRecords(f, size, fn)
	return size, end, torn, err
}

// checkHeader reads and checks the header of segment seq.
func checkHeader(f vfs.File, size int64, seq uint64, name string) error {
	h := make([]byte, min(size, HeaderLen))
	if _, err := f.ReadAt(h, 0); err != nil {
		return fmt.Errorf("commitlog: read %s: %w", name, err)
	}
	got, err := decodeHeader(h)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if got != seq {
		return fmt.Errorf("%w: %s: header names segment %016x", ErrCorrupt, name, got)
	}
	return nil
}

// startSegment creates segment seq, preallocated, and makes it current.
// The header and size are synced and so is the directory, so that once
// records in it are synced, the file that holds them exists.
func (l *Log) startSegment(seq uint64) error {
	name := l.path(seq)
	f, err := l.fs.Create(name)
	if err != nil {
		return fmt.Errorf("commitlog: new segment: %w", err)
	}
	err = func() error {
		if _, err := f.WriteAt(appendHeader(nil, seq), 0); err != nil {
			return err
		}
		if err := f.Truncate(l.cfg.SegmentSize); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		return l.fs.SyncDir(l.dir)
	}()
	if err != nil {
		_ = f.Close()
		_ = l.fs.Remove(name) // best effort: an empty segment is harmless anyway
		return fmt.Errorf("commitlog: new segment %s: %w", name, err)
	}
	l.cur, l.off = f, HeaderLen
	l.segs = append(l.segs, seq)
	return nil
}

// Append writes payloads as consecutive records with one write call, and
// returns the position just past them: Sync covers them once it has
// returned after that. The bytes are in the operating system once Append
// returns, so they survive a crash of the process. Payloads must be
// non-empty and at most MaxRecordLen; they are copied.
//
// If the batch does not fit the rest of the current segment, Append
// starts a new one first (see Rotate). A failed write appends nothing: the
// bytes it may have left are cut off before the next Append.
func (l *Log) Append(payloads ...[]byte) (Position, error) {
	size := int64(0)
	for _, p := range payloads {
		if len(p) == 0 || len(p) > MaxRecordLen {
			return Position{}, fmt.Errorf("commitlog: append: record of %d bytes (want 1..%d)", len(p), MaxRecordLen)
		}
		size += recordHeaderLen + int64(len(p))
	}
	l.mu.Lock()
	full := l.off > HeaderLen && l.off+size > l.cfg.SegmentSize
	l.mu.Unlock()
	if full {
		if _, err := l.Rotate(); err != nil {
			return Position{}, err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return Position{}, err
	}
	l.buf = l.buf[:0]
	for _, p := range payloads {
		l.buf = appendRecord(l.buf, p)
	}
	if _, err := l.cur.WriteAt(l.buf, l.off); err != nil {
		l.cutTail()
		return Position{}, fmt.Errorf("commitlog: append to %s: %w", segName(l.segs[len(l.segs)-1]), err)
	}
	l.off += size
	l.stats.Appended += size
	if cap(l.buf) > 1<<20 {
		l.buf = nil // do not keep one huge batch's buffer
	}
	return Position{l.segs[len(l.segs)-1], l.off}, nil
}

// cutTail zeroes what a failed write may have left past l.off, by cutting
// the file there and growing it back, so the segment still ends cleanly.
// If even that fails the log is failed. The caller holds mu.
func (l *Log) cutTail() {
	size := max(l.cfg.SegmentSize, l.off)
	if err := l.cur.Truncate(l.off); err != nil {
		l.failed = fmt.Errorf("commitlog: a failed append could not be undone: %w", err)
		return
	}
	if err := l.cur.Truncate(size); err != nil {
		l.failed = fmt.Errorf("commitlog: a failed append could not be undone: %w", err)
	}
}

// usable returns why the log cannot be written, if it cannot. The caller
// holds mu.
func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	return l.failed
}

// Sync makes every record appended so far durable (fdatasync of the
// current segment; earlier segments were synced when they were left).
// It returns at once if nothing was appended since the last Sync.
//
// A failed sync fails the log for good: the kernel may have dropped the
// pages it could not write and will not report them again, so no later
// sync could vouch for them. Every later Append and Sync returns the
// error; the log must be reopened (which replays what is on disk).
func (l *Log) Sync() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	if err := l.usable(); err != nil {
		l.mu.Unlock()
		return err
	}
	f, end := l.cur, Position{l.segs[len(l.segs)-1], l.off}
	l.mu.Unlock()
	if !l.synced.Less(end) {
		return nil
	}
	if err := f.Sync(); err != nil {
		return l.fail(fmt.Errorf("commitlog: sync %s: %w", segName(end.Seq), err))
	}
	l.synced = end
	l.mu.Lock()
	l.stats.Syncs++
	l.mu.Unlock()
	return nil
}

// Covers reports whether a sync (or a rotation) has made everything
// before p durable already, so that a caller waiting for p needs no sync
// of its own. It waits for a sync in progress.
func (l *Log) Covers(p Position) bool {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	return !l.synced.Less(p)
}

// fail records err as the log's failure and returns it.
func (l *Log) fail(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed == nil {
		l.failed = err
	}
	return l.failed
}

// Rotate syncs the current segment, starts a new one and returns the
// position of its start: every record appended before Rotate is before
// that position. It is what a checkpoint retires the log up to.
func (l *Log) Rotate() (Position, error) {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return Position{}, err
	}
	seq := l.segs[len(l.segs)-1]
	if l.synced.Less(Position{seq, l.off}) {
		if err := l.cur.Sync(); err != nil {
			l.failed = fmt.Errorf("commitlog: sync %s: %w", segName(seq), err)
			return Position{}, l.failed
		}
		l.stats.Syncs++
	}
	old := l.cur
	if err := l.startSegment(seq + 1); err != nil {
		return Position{}, err // the current segment stays current
	}
	l.synced = Position{seq + 1, HeaderLen}
	if err := old.Close(); err != nil {
		return Position{}, fmt.Errorf("commitlog: close %s: %w", segName(seq), err)
	}
	return l.synced, nil
}

// RetireBefore removes the segments that end before p (those with a
// smaller sequence number), oldest first, syncing the directory after
// each removal, so that what remains is always a suffix of the log. The
// current segment is never removed.
func (l *Log) RetireBefore(p Position) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	for len(l.segs) > 1 && l.segs[0] < p.Seq {
		if err := l.fs.Remove(l.path(l.segs[0])); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("commitlog: retire: %w", err)
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("commitlog: retire: %w", err)
		}
		l.segs = l.segs[1:]
	}
	return nil
}

// Replay calls fn with each record's payload, in log order, over every
// segment. The last segment may end in a torn record, which ends the log
// there; in an earlier segment that is corruption: Replay stops with an
// error wrapping ErrCorrupt that names the file and offset. fn's payload
// is valid only during the call; an error from fn stops Replay and is
// returned as it is.
func (l *Log) Replay(fn func(payload []byte) error) error {
	l.mu.Lock()
	segs := append([]uint64(nil), l.segs...)
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return ErrClosed
	}
	for i, seq := range segs {
		if err := l.replaySegment(seq, i == len(segs)-1, fn); err != nil {
			return err
		}
	}
	return nil
}

func (l *Log) replaySegment(seq uint64, last bool, fn func([]byte) error) error {
	name := l.path(seq)
	f, err := l.fs.Open(name)
	if err != nil {
		return fmt.Errorf("commitlog: replay: %w", err)
	}
	defer f.Close()
	_, _, torn, err := scanSegment(f, seq, name, fn)
	if errors.Is(err, errTorn) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err != nil {
		return err
	}
	if torn != nil && !last {
		return fmt.Errorf("%w: %s: %w (only the last segment may end early)", ErrCorrupt, name, torn)
	}
	return nil
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Segments = len(l.segs)
	return s
}

// Close closes the current segment without syncing it (call Sync first
// for that). Later calls return ErrClosed.
func (l *Log) Close() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	if err := l.cur.Close(); err != nil {
		return fmt.Errorf("commitlog: close: %w", err)
	}
	return nil
}
