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
	// ReadRepair says how a read asks the replicas for their copies:
	// ReadRepairDigest (the zero value, the default) or ReadRepairAll.
	// Writes ignore it.
	ReadRepair ReadRepair
	// Defaulted marks the counts the request left to the node's defaults
	// rather than chose; Fit shrinks only those. Zero (nothing defaulted)
	// keeps every count as given.
	Defaulted Defaulted
}

// ReadRepair is how a read asks the replicas for their copies of a key.
type ReadRepair uint8

const (
	// ReadRepairDigest asks R replicas, not N: the set from one (this
	// node when it is a replica) and only its digest from the others; a
	// replica whose digest matches no set the read has is then asked for
	// its set, and repaired if stale. The other replicas are asked only
	// when one of those fails or is slow, so read repair leaves them to
	// anti-entropy. This is the default: on a healthy cluster one replica
	// sends the value and R-1 a digest, instead of N sending the value.
	ReadRepairDigest ReadRepair = iota
	// ReadRepairAll reads the set from every replica, as Chorus did before
	// digest reads: more traffic, and every stale replica repaired.
	ReadRepairAll
)

// String returns the name ParseReadRepair takes: "digest" or "all".
func (m ReadRepair) String() string {
	switch m {
	case ReadRepairDigest:
		return "digest"
	case ReadRepairAll:
		return "all"
	}
	return fmt.Sprintf("ReadRepair(%d)", uint8(m))
}

// ParseReadRepair parses "digest" or "all"; the empty string is the
// default, ReadRepairDigest. Other values wrap ErrInvalidOptions.
func ParseReadRepair(s string) (ReadRepair, error) {
	switch s {
	case "", "digest":
		return ReadRepairDigest, nil
	case "all":
		return ReadRepairAll, nil
	}
	return 0, fmt.Errorf("%w: read_repair=%q must be digest or all", ErrInvalidOptions, s)
}

// Defaulted says which counts of an Options came from the node's defaults.
type Defaulted struct {
	N, R, W, PR, PW bool
}

// AllDefaulted marks every count as the node's default: the options of a
// request that set no count.
var AllDefaulted = Defaulted{N: true, R: true, W: true, PR: true, PW: true}

// Fit returns the options a request runs with on a ring of ringSize
// members, so that a small cluster serves requests that keep the node's
// defaults:
//
//   - a defaulted N larger than the ring becomes the ring's size (a
//     1-node cluster stores one copy, a 2-node cluster two);
//   - a defaulted R or W becomes min(R, N) or min(W, N) with the N so
//     found (and likewise with an N the request lowered itself): with the
//     default N=3, R=W=2 that is 1/1/1 on one node and 2/2/2 on two,
//     majorities of N in both;
//   - a defaulted PR or PW becomes min(PR, R) or min(PW, W).
//
// Counts the request chose are kept, so a request that asks for more than
// the ring can give still fails validation (an explicit n=3 on a 2-node
// ring, or an explicit r=3 once N became 2). When the ring grows, the same
// defaults give the full N again. ringSize 0 changes nothing. Fit is pure.
func (o Options) Fit(ringSize int) Options {
	d := o.Defaulted
	if d.N && ringSize > 0 && o.N > ringSize {
		o.N = ringSize
	}
	if d.R {
		o.R = min(o.R, o.N)
	}
	if d.W {
		o.W = min(o.W, o.N)
	}
	if d.PR {
		o.PR = min(o.PR, o.R)
	}
	if d.PW {
		o.PW = min(o.PW, o.W)
	}
	return o
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
// at most r's replication factor. It checks o as given; the coordinator
// checks o.Fit(r.Size()). A request may ask for fewer replicas than
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
	case o.ReadRepair > ReadRepairAll:
		return bad("read repair %v is neither digest nor all", o.ReadRepair)
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
