package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/chorusdb/chorus/client"
)

// ClientVersionStore is the VersionStore of a Chorus cluster: it writes
// through the node at the writer address and reads through the reader
// addresses (client.Via), with the request options given (quorum,
// durability). Each write carries the causal context of the key's last
// write, so versions supersede each other instead of piling up as
// siblings; a read returns the newest version among its siblings.
type ClientVersionStore struct {
	c       *client.Client
	writer  string
	readers []string
	opts    []client.Option

	contexts sync.Map // string(key) -> context of the last write
}

var _ VersionStore = (*ClientVersionStore)(nil)

// NewClientVersionStore returns the VersionStore writing through writer
// and reading through readers (gRPC addresses). It does not own c.
func NewClientVersionStore(c *client.Client, writer string, readers []string, opts ...client.Option) *ClientVersionStore {
	return &ClientVersionStore{c: c, writer: writer, readers: readers, opts: opts}
}

// Write stores v as an 8-byte big-endian value.
func (s *ClientVersionStore) Write(ctx context.Context, key []byte, v uint64) error {
	opts := append(s.opts[:len(s.opts):len(s.opts)], client.Via(s.writer))
	if c, ok := s.contexts.Load(string(key)); ok {
		opts = append(opts, client.WithCausal(c.(client.Causal)))
	}
	res, err := s.c.Put(ctx, key, binary.BigEndian.AppendUint64(nil, v), opts...)
	if err != nil {
		return err
	}
	s.contexts.Store(string(key), res.Causal)
	return nil
}

// Read returns the newest version among key's siblings, 0 when it has
// none.
func (s *ClientVersionStore) Read(ctx context.Context, r int, key []byte) (uint64, error) {
	opts := append(s.opts[:len(s.opts):len(s.opts)], client.Via(s.readers[r]))
	res, err := s.c.Get(ctx, key, opts...)
	if err != nil {
		return 0, err
	}
	var newest uint64
	for _, v := range res.Values {
		if len(v) != 8 {
			return 0, fmt.Errorf("bench: %q holds a %d-byte value, not a version", key, len(v))
		}
		newest = max(newest, binary.BigEndian.Uint64(v))
	}
	return newest, nil
}

// Readers returns the number of reader addresses.
func (s *ClientVersionStore) Readers() int { return len(s.readers) }
