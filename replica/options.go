package replica

import (
	"errors"
	"fmt"
	"time"

	"github.com/chorusdb/chorus/ring"
)

// Options are the per-request quorum settings.
type Options struct {
	// N is the number of replicas of the key. Default 3.
	N int
	// R is the number of replies a read waits for, the coordinator's own
	// included. Default 2.
	R int
	// W is the number of acks a write waits for, the coordinator's own
	// included. Default 2.
	W int
	// PR is how many of the R replies must come from primaries. Default 0.
	PR int
	// PW is how many of the W acks must come from primaries; PW = W forbids
	// sloppy quorum for the write. Default 0.
	PW int
	// Durable asks each acking replica to have synced the write to disk.
	// Default true.
	Durable bool
	// Timeout bounds the whole request. Default 2 s.
	Timeout time.Duration
}

// DefaultOptions returns N=3, R=2, W=2, PR=PW=0, durable, 2 s timeout.
func DefaultOptions() Options {
	return Options{N: 3, R: 2, W: 2, Durable: true, Timeout: 2 * time.Second}
}

// ErrInvalidOptions is wrapped by every Validate error.
var ErrInvalidOptions = errors.New("replica: invalid options")

// Validate checks the options against a cluster of clusterSize ring members
// (0: any size). Each rule names the values involved, since the caller is
// usually a person tuning a quorum.
func (o Options) Validate(clusterSize int) error {
	return o.validate(clusterSize, 0)
}

// ValidateFor checks the options against ring r: Validate's rules, and N
// at most r's replication factor. A request may ask for fewer replicas than
// the ring keeps, never for more: the nodes past a partition's primaries
// are its fallbacks, which neither anti-entropy nor handoff treat as
// replicas, so extra copies there would be kept by nobody.
func (o Options) ValidateFor(r *ring.Ring) error {
	return o.validate(r.Size(), r.Replicas())
}

func (o Options) validate(clusterSize, replicationFactor int) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, args...)...)
	}
	switch {
	case o.N < 1:
		return bad("n=%d must be at least 1", o.N)
	case o.R < 1 || o.R > o.N:
		return bad("r=%d must be between 1 and n=%d", o.R, o.N)
	case o.W < 1 || o.W > o.N:
		return bad("w=%d must be between 1 and n=%d", o.W, o.N)
	case o.PR < 0 || o.PR > o.R:
		return bad("pr=%d must be between 0 and r=%d", o.PR, o.R)
	case o.PW < 0 || o.PW > o.W:
		return bad("pw=%d must be between 0 and w=%d", o.PW, o.W)
	case o.Timeout <= 0:
		return bad("timeout=%v must be positive", o.Timeout)
	case replicationFactor > 0 && o.N > replicationFactor:
		return bad("n=%d exceeds the cluster's replication factor %d", o.N, replicationFactor)
	case clusterSize > 0 && o.N > clusterSize:
		return bad("n=%d exceeds the %d nodes in the ring", o.N, clusterSize)
	}
	return nil
}

// Strict reports whether reads and writes with these options always
// overlap in at least one replica (R + W > N), which is what makes a read
// after an acknowledged write see it when no replica fails.
func (o Options) Strict() bool { return o.R+o.W > o.N }
