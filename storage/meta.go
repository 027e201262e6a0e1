package storage

import (
	"bytes"
	"context"
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// The meta keyspace holds the node's own small records, such as its node
// ID and the last cluster state it saw, by name.

// GetMeta returns a copy of the meta entry name, or ErrNotFound.
func (db *DB) GetMeta(name string) ([]byte, error) {
	if err := db.checkName("meta name", len(name)); err != nil {
		return nil, err
	}
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	var out []byte
	err := db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(metaKey(name))
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, translate("get meta", err)
	}
	return out, nil
}

// SetMeta stores value as meta entry name. It is always durable: these
// records (who this node is, which ring it belongs to) must survive a
// crash. ctx behaves as for Update.
func (db *DB) SetMeta(ctx context.Context, name string, value []byte) error {
	if err := db.checkName("meta name", len(name)); err != nil {
		return err
	}
	if err := db.checkValue(len(value)); err != nil {
		return err
	}
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{} // store an empty value, not "no value"
	}
	return db.submit(ctx, metaKey(name), true, func([]byte, bool) (mutation, error) {
		return mutation{op: opSet, value: v}, nil
	})
}
