package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/chorusdb/chorus/storage"
)

// ReplicaCopy is one node's own stored copy of a key, as GET
// /v1/replica/{key} shows it: read from this node's storage alone, with no
// quorum, no read repair and no forwarding, so that comparing the copies
// of a key's replicas measures whether they have converged (fault tests
// do; so may an operator chasing one key) without the read changing what
// it measures.
type ReplicaCopy struct {
	Node      string `json:"node"`
	Partition uint32 `json:"partition"`
	// Replica is whether the ring makes this node one of the key's N
	// primaries; a fallback or a former owner may hold a copy too.
	Replica bool `json:"replica"`
	// Found is false when this node holds nothing for the key; then only
	// the fields above are set.
	Found bool `json:"found"`
	// Context is the encoded version vector of the stored set.
	Context string `json:"context,omitempty"`
	// Digest is the stored set's digest (hex), equal on two replicas
	// exactly when their sets are equal: what digest reads compare.
	Digest   string           `json:"digest,omitempty"`
	Siblings []ReplicaSibling `json:"siblings,omitempty"`
}

// ReplicaSibling is one sibling of a ReplicaCopy.
type ReplicaSibling struct {
	// Dot names the write that made the sibling: "node:counter".
	Dot string `json:"dot"`
	// Value is the value in standard base64; empty for a tombstone.
	Value     string `json:"value"`
	Tombstone bool   `json:"tombstone,omitempty"`
	// TimestampNanos is the coordinator's wall clock at the write.
	TimestampNanos int64 `json:"timestamp_ns"`
}

// replicaCopy reads the node's own copy of key.
func (n *Node) replicaCopy(ctx context.Context, key []byte) (ReplicaCopy, error) {
	r := n.coord.Ring() // set: the route is served once the node is ready
	if err := n.db.CheckKey(key); err != nil {
		return ReplicaCopy{}, err
	}
	c := ReplicaCopy{Node: n.ID(), Partition: r.Partition(key)}
	c.Replica = slices.Contains(r.Primaries(c.Partition), c.Node)
	set, err := n.db.Get(ctx, c.Partition, key)
	if errors.Is(err, storage.ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return ReplicaCopy{}, err
	}
	c.Found = true
	c.Context = set.Context().String()
	c.Digest = fmt.Sprintf("%016x", set.Digest())
	for _, s := range set.Siblings() {
		c.Siblings = append(c.Siblings, ReplicaSibling{
			Dot:            s.Dot.Node + ":" + strconv.FormatUint(s.Dot.Counter, 10),
			Value:          base64.StdEncoding.EncodeToString(s.Data),
			Tombstone:      s.Tombstone,
			TimestampNanos: s.Timestamp,
		})
	}
	return c, nil
}

// replicaView serves GET /v1/replica/{key...} from read.
func replicaView(read func(ctx context.Context, key []byte) (ReplicaCopy, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := kvKey(w, r)
		if !ok {
			return
		}
		if r.URL.RawQuery != "" {
			writeError(w, http.StatusBadRequest, "a replica's copy takes no query parameters")
			return
		}
		c, err := read(r.Context(), key)
		switch {
		case errors.Is(err, storage.ErrEmptyKey), errors.Is(err, storage.ErrKeyTooLong):
			writeError(w, http.StatusBadRequest, err.Error())
		case err != nil:
			writeError(w, http.StatusInternalServerError, err.Error())
		default:
			writeJSON(w, http.StatusOK, c)
		}
	}
}
