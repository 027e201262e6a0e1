package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// layoutVersion is the on-disk layout this build reads and writes: the key
// layout of keys.go and the value encodings. Version 2 put the slot before
// the user key in data keys; version 1 (never recorded) had none.
const layoutVersion = 2

// metaLayout records the layout version of a store.
const metaLayout = "storage.layout"

// ErrLayout is returned by Open for a store written by a build with a
// different on-disk layout.
var ErrLayout = errors.New("storage: on-disk layout not readable by this build")

// checkLayout records the layout of a new store and refuses a store of
// another layout, including one from before layouts were recorded (it has
// keys but no layout entry), so that no data is misread.
func (db *DB) checkLayout() error {
	if !db.persistent() {
		return nil
	}
	b, err := db.GetMeta(metaLayout)
	switch {
	case err == nil:
		if len(b) != 8 {
			return fmt.Errorf("%w: layout entry of %d bytes", ErrCorrupt, len(b))
		}
		if v := binary.BigEndian.Uint64(b); v != layoutVersion {
			return fmt.Errorf("%w: the store has layout %d, this build reads %d; wipe the data directory "+
				"and let anti-entropy and handoff refill the node", ErrLayout, v, layoutVersion)
		}
		return nil
	case !errors.Is(err, ErrNotFound):
		return err
	}
	empty, err := db.empty()
	if err != nil {
		return err
	}
	if !empty {
		return fmt.Errorf("%w: the store was written by a build that recorded no layout (layout 1), this build "+
			"reads %d; wipe the data directory and let anti-entropy and handoff refill the node", ErrLayout, layoutVersion)
	}
	db.fresh = true
	return db.SetMeta(context.Background(), metaLayout, binary.BigEndian.AppendUint64(nil, layoutVersion))
}

// empty reports whether the engine holds no key at all.
func (db *DB) empty() (bool, error) {
	empty := true
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		it.Rewind()
		empty = !it.Valid()
		return nil
	})
	if err != nil {
		return false, translate("open", err)
	}
	return empty, nil
}
