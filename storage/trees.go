package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorusdb/chorus/antientropy"
	"github.com/chorusdb/chorus/vclock"
	"github.com/dgraph-io/badger/v4"
)

// Anti-entropy trees.
//
// The DB keeps one antientropy.Tree per partition that has data, updated by
// the committer after every commit from the old and new encoded sets of
// each key it wrote: O(1) per write, and never out of step with the data,
// because the committer is the only writer.
//
// At Open the trees are empty and a background goroutine rebuilds them by
// walking the data keyspace in chunks. Each chunk is read on the committer
// goroutine, between batches, so no write can slip between the read and
// the cursor's advance: a write to a key at or before the cursor updates
// the tree (the scan has counted the key already), a write after it is
// left to the scan. Until the walk ends the trees are not Ready and are not
// served to peers; a half-built tree would look like missing data.

// rebuildChunk is how many keys one rebuild step reads on the committer;
// small enough that a step delays writers by well under a millisecond.
const rebuildChunk = 256

// trees is the DB's tree state; mu guards everything in it. The committer
// holds mu for writing while it updates trees, readers for reading.
type trees struct {
	mu     sync.RWMutex
	cfg    antientropy.Config
	byPart map[uint32]*antientropy.Tree
	// empty stands for the tree of a partition without data in withTree,
	// which only reads it: anti-entropy reads the roots of every partition,
	// and making a tree per read of an empty one cost an allocation of the
	// whole tree each time.
	empty   *antientropy.Tree
	cursor  []byte // engine key of the last key the rebuild has added
	ready   bool
	scanned uint64
	started time.Time
	took    time.Duration

	stop context.CancelFunc
	done chan struct{}

	// onChange is called after a batch that changed a tree (OnTreeChange).
	onChange atomic.Pointer[func()]
}

// TreeProgress reports the rebuild of the trees after Open.
type TreeProgress struct {
	// Enabled is false when Options.NoTrees turned trees off.
	Enabled bool `json:"enabled"`
	// Ready is true once every key has been added; only then are trees
	// served.
	Ready bool `json:"ready"`
	// Keys is how many keys the rebuild has added so far.
	Keys uint64 `json:"keys"`
	// Partition is the partition the rebuild is in (the last one when
	// Ready).
	Partition uint32 `json:"partition"`
	// Elapsed is the time the rebuild has taken so far, or took; JSON has
	// it in milliseconds (elapsed_ms).
	Elapsed time.Duration `json:"-"`
}

// MarshalJSON writes p with Elapsed in milliseconds.
func (p TreeProgress) MarshalJSON() ([]byte, error) {
	type plain TreeProgress // without this method
	return json.Marshal(struct {
		plain
		ElapsedMS float64 `json:"elapsed_ms"`
	}{plain(p), millis(p.Elapsed)})
}

// startTrees sets up the trees and starts their rebuild; Close stops it.
func (db *DB) startTrees() {
	if db.opts.NoTrees {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	empty, _ := antientropy.New(db.opts.Trees) // the config was validated at Open
	db.trees = &trees{
		empty:   empty,
		cfg:     db.opts.Trees,
		byPart:  make(map[uint32]*antientropy.Tree),
		started: time.Now(),
		stop:    cancel,
		done:    make(chan struct{}),
	}
	go db.rebuildTrees(ctx)
}

// stopTrees stops the rebuild and waits for it; called by Close before it
// waits for the calls in progress.
func (db *DB) stopTrees() {
	if db.trees == nil {
		return
	}
	db.trees.stop()
	<-db.trees.done
}

// rebuildTrees walks the data keyspace one committer step at a time until
// every key is in its tree, logging progress every few seconds.
func (db *DB) rebuildTrees(ctx context.Context) {
	t := db.trees
	defer close(t.done)
	lastLog := time.Now()
	for {
		done, err := db.rebuildStep(ctx)
		if err != nil {
			if ctx.Err() == nil {
				db.opts.Logger.Error("storage: anti-entropy tree rebuild stopped; trees stay not ready", "err", err)
			}
			return
		}
		if done {
			p := db.TreeProgress()
			db.opts.Logger.Info("storage: anti-entropy trees ready", "keys", p.Keys, "took", p.Elapsed.Round(time.Millisecond))
			return
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			p := db.TreeProgress()
			db.opts.Logger.Info("storage: rebuilding anti-entropy trees", "keys", p.Keys, "partition", p.Partition,
				"elapsed", p.Elapsed.Round(time.Second))
		}
	}
}

// rebuildStep adds the next chunk of keys on the committer goroutine and
// reports whether the walk is complete.
func (db *DB) rebuildStep(ctx context.Context) (bool, error) {
	if err := db.enter(); err != nil {
		return false, err
	}
	defer db.leave()
	t := db.trees
	done := false
	step := func() error {
		seek := []byte{spaceData}
		if t.cursor != nil {
			seek = append(bytes.Clone(t.cursor), 0)
		}
		chunk, err := db.readChunkN([]byte{spaceData}, seek, rebuildChunk)
		if err != nil {
			return err
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, e := range chunk {
			p, key, err := decodeDataKey(e.k)
			if err != nil {
				return err
			}
			t.tree(p).Flip(key, antientropy.KeyHashEncoded(key, e.v))
			t.cursor = e.k
		}
		t.scanned += uint64(len(chunk))
		if len(chunk) < rebuildChunk {
			t.ready = true
			t.took = time.Since(t.started)
			done = true
		}
		return nil
	}
	r := &request{ctx: ctx, control: step, done: make(chan error, 1)}
	if err := db.await(ctx, r); err != nil {
		return false, err
	}
	return done, nil
}

// tree returns partition p's tree, creating it empty. t.mu must be held for
// writing.
func (t *trees) tree(p uint32) *antientropy.Tree {
	tr := t.byPart[p]
	if tr == nil {
		tr, _ = antientropy.New(t.cfg) // the config was validated at Open
		t.byPart[p] = tr
	}
	return tr
}

// covers reports whether a write to engine key k must update the trees:
// always once they are ready, and during the rebuild for keys the walk has
// passed. t.mu must be held.
func (t *trees) covers(k []byte) bool {
	return t.ready || (t.cursor != nil && bytes.Compare(k, t.cursor) <= 0)
}

// OnTreeChange makes the committer call fn after every batch that changed
// a tree, that is a batch that changed a stored set: the anti-entropy
// scheduler sleeps while nothing changes and wakes on it. fn runs on the
// committer and must not block. A later call replaces fn; nil removes it.
// Without trees (Options.NoTrees) fn is never called.
func (db *DB) OnTreeChange(fn func()) {
	if db.trees == nil {
		return
	}
	if fn == nil {
		db.trees.onChange.Store(nil)
		return
	}
	db.trees.onChange.Store(&fn)
}

// noteCommitted updates the trees for the committed requests' data writes.
// It runs on the committer right after the commit.
func (db *DB) noteCommitted(committed []*request) {
	t := db.trees
	if t == nil {
		return
	}
	if !t.flip(committed) {
		return
	}
	if fn := t.onChange.Load(); fn != nil {
		(*fn)()
	}
}

// flip applies the committed requests' data writes to the trees and
// reports whether any tree changed.
func (t *trees) flip(committed []*request) bool {
	changed := false
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range committed {
		if !r.wrote || len(r.key) == 0 || r.key[0] != spaceData || !t.covers(r.key) {
			continue
		}
		p, key, err := decodeDataKey(r.key)
		if err != nil {
			continue // not a data key the DB wrote; cannot happen
		}
		var h uint64
		if r.oldRaw != nil {
			h = antientropy.KeyHashEncoded(key, r.oldRaw)
		}
		if r.newRaw != nil {
			h ^= antientropy.KeyHashEncoded(key, r.newRaw)
		}
		t.tree(p).Flip(key, h)
		changed = changed || h != 0
	}
	return changed
}

// TreeProgress reports the trees' rebuild.
func (db *DB) TreeProgress() TreeProgress {
	t := db.trees
	if t == nil {
		return TreeProgress{}
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	p := TreeProgress{Enabled: true, Ready: t.ready, Keys: t.scanned, Elapsed: t.took}
	if !t.ready {
		p.Elapsed = time.Since(t.started)
	}
	if t.cursor != nil {
		p.Partition, _, _ = decodeDataKey(t.cursor)
	}
	return p
}

// TreeConfig returns the shape of the DB's trees.
func (db *DB) TreeConfig() antientropy.Config {
	return db.opts.Trees
}

// withTree runs fn on partition p's tree under the read lock, or returns
// ErrTreesNotReady. A partition without data has an empty tree, shared:
// fn must only read the tree.
func (db *DB) withTree(p uint32, fn func(*antientropy.Tree)) error {
	if err := checkPartition(p); err != nil {
		return err
	}
	t := db.trees
	if t == nil {
		return fmt.Errorf("%w: trees are turned off", ErrTreesNotReady)
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if !t.ready {
		return ErrTreesNotReady
	}
	tr := t.byPart[p]
	if tr == nil {
		tr = t.empty
	}
	fn(tr)
	return nil
}

// TreeRoot returns the root hash of partition p's tree.
func (db *DB) TreeRoot(p uint32) (uint64, error) {
	var root uint64
	err := db.withTree(p, func(t *antientropy.Tree) { root = t.Root() })
	return root, err
}

// TreeBranches returns the branch hashes of partition p's tree.
func (db *DB) TreeBranches(p uint32) ([]uint64, error) {
	var out []uint64
	err := db.withTree(p, func(t *antientropy.Tree) { out = t.Branches() })
	return out, err
}

// TreeSegments returns the segment hashes of the given branches of
// partition p's tree, concatenated in the order asked.
func (db *DB) TreeSegments(p uint32, branches []int) ([]uint64, error) {
	for _, b := range branches {
		if b < 0 || b >= db.opts.Trees.Branches {
			return nil, fmt.Errorf("%w: branch %d out of range [0, %d)", ErrBadSegment, b, db.opts.Trees.Branches)
		}
	}
	var out []uint64
	err := db.withTree(p, func(t *antientropy.Tree) {
		for _, b := range branches {
			out = append(out, t.Segments(b)...)
		}
	})
	return out, err
}

// TreeSnapshot returns a copy of partition p's tree, for comparing against
// a peer's without holding the lock.
func (db *DB) TreeSnapshot(p uint32) (*antientropy.Tree, error) {
	var c *antientropy.Tree
	err := db.withTree(p, func(t *antientropy.Tree) { c = t.Clone() })
	return c, err
}

// ScanSegments calls fn for every key of partition p in the given tree
// segments, with its stored set, reading each segment as one range: the
// cost is the keys of those segments, not of the partition. The keys are
// read in one engine transaction and fn is called after it, so fn may
// write to the DB.
func (db *DB) ScanSegments(ctx context.Context, p uint32, segments []int, fn func(key []byte, s vclock.Set) error) error {
	if err := checkPartition(p); err != nil {
		return err
	}
	for _, seg := range segments {
		if seg < 0 || seg >= db.opts.Trees.Segments {
			return fmt.Errorf("%w: segment %d out of range [0, %d)", ErrBadSegment, seg, db.opts.Trees.Segments)
		}
	}
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := db.readSegments(p, segments)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, key, err := decodeDataKey(e.k)
		if err != nil {
			return err
		}
		s, err := decodeSet(e.v)
		if err != nil {
			return err
		}
		if err := fn(key, s); err != nil {
			return err
		}
	}
	return nil
}

// readSegments reads the entries of the given segments of partition p with
// one iterator, seeking to each segment's first slot; values are read only
// for keys inside the segments.
func (db *DB) readSegments(p uint32, segments []int) ([]kv, error) {
	var out []kv
	prefix := partitionPrefix(p)
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for _, seg := range segments {
			first, last := db.opts.Trees.SegmentSlots(seg)
			for it.Seek(slotKey(p, first)); it.ValidForPrefix(prefix); it.Next() {
				item := it.Item()
				k := item.Key()
				if len(k) < dataHeader || binary.BigEndian.Uint16(k[prefixLen:]) > last {
					break
				}
				v, err := item.ValueCopy(nil)
				if err != nil {
					return err
				}
				out = append(out, kv{k: item.KeyCopy(nil), v: v})
			}
		}
		return nil
	})
	if err != nil {
		return nil, translate("scan", err)
	}
	return out, nil
}
