package repair

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chorusdb/chorus/antientropy"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/vclock"
)

// Limits on one round trip of an exchange, so that no message grows with
// the data: segment hashes of at most segmentBranchesPerCall branches, the
// keys of at most keySegmentsPerCall segments, and at most keysPerSync keys
// fetched or pushed at once.
const (
	segmentBranchesPerCall = 16
	keySegmentsPerCall     = 64
	keysPerSync            = 256
)

// Pacer is charged with the work of an exchange as it goes; Wait blocks
// until the budget allows that much more work, or ctx ends.
type Pacer interface {
	Wait(ctx context.Context, keys, bytes int) error
}

// Result describes one exchange.
type Result struct {
	Partition uint32        `json:"partition"`
	Peer      string        `json:"peer"`
	Start     time.Time     `json:"start"`
	Took      time.Duration `json:"-"` // JSON: took_ms

	// RootsEqual is true when the trees matched at the root: the exchange
	// cost one round trip and nothing else.
	RootsEqual bool `json:"roots_equal"`
	// BranchesDiffering and SegmentsDiffering count the tree nodes whose
	// hashes differed.
	BranchesDiffering int `json:"branches_differing"`
	SegmentsDiffering int `json:"segments_differing"`
	// SegmentHashes is how many segment hashes were fetched from the peer.
	SegmentHashes int `json:"segment_hashes"`
	// KeysCompared is the number of distinct keys, on either side, in the
	// differing segments: the keys whose hashes were compared.
	KeysCompared int `json:"keys_compared"`
	// KeysDiffering is how many of them differed or were missing on a
	// side.
	KeysDiffering int `json:"keys_differing"`
	// RepairedHere is how many keys changed in the local store;
	// RepairedThere how many merged sets were sent to the peer.
	RepairedHere  int `json:"repaired_here"`
	RepairedThere int `json:"repaired_there"`
	// BytesSent and BytesReceived estimate the payload exchanged with the
	// peer: hashes, keys and encoded sets, without framing.
	BytesSent     int `json:"bytes_sent"`
	BytesReceived int `json:"bytes_received"`

	// root is the root both sides had when RootsEqual: the Scheduler skips
	// the pair while the local root stays the same.
	root uint64
}

// Repaired is the number of keys the exchange wrote on either side.
func (r Result) Repaired() int { return r.RepairedHere + r.RepairedThere }

// Exchanger runs exchanges between this node's store and its peers.
type Exchanger struct {
	local  Local
	remote Remote
	pacer  Pacer
	clk    clock.Clock // times Result.Start and Took
}

// NewExchanger returns an Exchanger; pacer may be nil for no pacing.
func NewExchanger(local Local, remote Remote, pacer Pacer) *Exchanger {
	if pacer == nil {
		pacer = noPacing{}
	}
	return &Exchanger{local: local, remote: remote, pacer: pacer, clk: clock.Real{}}
}

type noPacing struct{}

func (noPacing) Wait(context.Context, int, int) error { return nil }

// Exchange compares partition p with peer and syncs the keys that differ,
// both ways. An error wrapping ErrNotReady means a tree was still being
// built and nothing was compared. On any error the Result describes the
// work done up to it; what was repaired stays repaired.
func (e *Exchanger) Exchange(ctx context.Context, peer string, p uint32) (Result, error) {
	return e.exchangeYielding(ctx, peer, p, nil)
}

// exchangeYielding is Exchange calling yield, if not nil, once the roots
// differ and before anything more is read: comparing roots costs one
// round trip, the rest costs in proportion to the difference, and only
// that yields to foreground load. An error from yield ends the exchange.
func (e *Exchanger) exchangeYielding(ctx context.Context, peer string, p uint32, yield func(context.Context) error) (Result, error) {
	res := Result{Partition: p, Peer: peer, Start: e.clk.Now()}
	err := e.exchange(ctx, peer, p, &res, yield)
	res.Took = e.clk.Since(res.Start)
	if err != nil {
		return res, fmt.Errorf("repair: exchange of partition %d with %s: %w", p, peer, err)
	}
	return res, nil
}

func (e *Exchanger) exchange(ctx context.Context, peer string, p uint32, res *Result, yield func(context.Context) error) error {
	// The root first, the copy of the whole tree only if the roots differ:
	// most exchanges end at the root, and copying a tree per exchange was
	// most of what an idle node spent on anti-entropy.
	localRoot, err := e.local.TreeRoot(p)
	if err != nil {
		return err
	}
	root, err := e.remote.Root(ctx, peer, p)
	if err != nil {
		return err
	}
	res.BytesReceived += 8
	if root == localRoot {
		res.RootsEqual = true
		res.root = root
		return nil
	}
	if yield != nil {
		if err := yield(ctx); err != nil {
			return err
		}
	}
	// The snapshot may be newer than localRoot (a write in between); the
	// comparison below uses the snapshot alone, so that is harmless.
	local, err := e.local.TreeSnapshot(p)
	if err != nil {
		return err
	}
	segments, err := e.differingSegments(ctx, peer, p, local, res)
	if err != nil {
		return err
	}
	for start := 0; start < len(segments); start += keySegmentsPerCall {
		chunk := segments[start:min(start+keySegmentsPerCall, len(segments))]
		if err := e.syncSegments(ctx, peer, p, chunk, res); err != nil {
			return err
		}
	}
	return nil
}

// differingSegments fetches the peer's branch hashes and then the segment
// hashes of the branches that differ, and returns the differing segments.
func (e *Exchanger) differingSegments(ctx context.Context, peer string, p uint32, local *antientropy.Tree, res *Result) ([]int, error) {
	remote, err := e.remote.Branches(ctx, peer, p)
	if err != nil {
		return nil, err
	}
	res.BytesReceived += 8 * len(remote)
	branches, err := antientropy.DiffBranches(local.Branches(), remote)
	if err != nil {
		return nil, err
	}
	res.BranchesDiffering = len(branches)
	width := local.Config().Segments / local.Config().Branches
	var segments []int
	for start := 0; start < len(branches); start += segmentBranchesPerCall {
		chunk := branches[start:min(start+segmentBranchesPerCall, len(branches))]
		hashes, err := e.remote.Segments(ctx, peer, p, chunk)
		if err != nil {
			return nil, err
		}
		res.BytesSent += 4 * len(chunk)
		res.BytesReceived += 8 * len(hashes)
		res.SegmentHashes += len(hashes)
		if len(hashes) != width*len(chunk) {
			return nil, fmt.Errorf("%w: %d segment hashes for %d branches of %d", antientropy.ErrShapeMismatch,
				len(hashes), len(chunk), width)
		}
		for i, br := range chunk {
			d, err := antientropy.DiffSegments(local.Segments(br), hashes[i*width:(i+1)*width])
			if err != nil {
				return nil, err
			}
			for _, s := range d {
				segments = append(segments, br*width+s)
			}
		}
	}
	res.SegmentsDiffering = len(segments)
	return segments, nil
}

// syncSegments compares the keys of some differing segments and syncs the
// ones that differ.
func (e *Exchanger) syncSegments(ctx context.Context, peer string, p uint32, segments []int, res *Result) error {
	theirs, err := e.remote.Keys(ctx, peer, p, segments)
	if err != nil {
		return err
	}
	res.BytesSent += 4 * len(segments)
	remoteHash := make(map[string]uint64, len(theirs))
	for _, kh := range theirs {
		remoteHash[string(kh.Key)] = kh.Hash
		res.BytesReceived += len(kh.Key) + 8
	}
	type localKey struct {
		key []byte
		set vclock.Set
	}
	var mine []localKey
	err = e.local.ScanSegments(ctx, p, segments, func(key []byte, s vclock.Set) error {
		mine = append(mine, localKey{key, s})
		return nil
	})
	if err != nil {
		return err
	}

	// fetch: keys the peer has that we lack or hold differently. push:
	// keys only we have, sent as they are.
	var fetch [][]byte
	var fetchLocal []vclock.Set
	var push [][]byte
	var pushSets []vclock.Set
	seen := make(map[string]bool, len(mine))
	for _, m := range mine {
		seen[string(m.key)] = true
		h, ok := remoteHash[string(m.key)]
		switch {
		case !ok:
			push, pushSets = append(push, m.key), append(pushSets, m.set)
		case h != antientropy.KeyHash(m.key, m.set):
			fetch, fetchLocal = append(fetch, m.key), append(fetchLocal, m.set)
		}
	}
	onlyTheirs := 0
	for _, kh := range theirs {
		if !seen[string(kh.Key)] {
			onlyTheirs++
			fetch, fetchLocal = append(fetch, kh.Key), append(fetchLocal, vclock.Set{})
		}
	}
	res.KeysCompared += len(mine) + onlyTheirs
	res.KeysDiffering += len(fetch) + len(push)
	if err := e.pacer.Wait(ctx, len(mine)+len(theirs), 0); err != nil {
		return err
	}

	for start := 0; start < len(fetch); start += keysPerSync {
		end := min(start+keysPerSync, len(fetch))
		merged, err := e.pull(ctx, peer, p, fetch[start:end], fetchLocal[start:end], res)
		if err != nil {
			return err
		}
		push = append(push, merged.keys...)
		pushSets = append(pushSets, merged.sets...)
	}
	for start := 0; start < len(push); start += keysPerSync {
		end := min(start+keysPerSync, len(push))
		if err := e.send(ctx, peer, p, push[start:end], pushSets[start:end], res); err != nil {
			return err
		}
	}
	return nil
}

// keySets is a list of keys with a set for each.
type keySets struct {
	keys [][]byte
	sets []vclock.Set
}

// pull fetches the peer's sets of keys, merges each into the local store,
// and returns the keys whose joined set the peer does not have yet, with
// that set, for send.
func (e *Exchanger) pull(ctx context.Context, peer string, p uint32, keys [][]byte, local []vclock.Set, res *Result) (keySets, error) {
	theirs, err := e.remote.Fetch(ctx, peer, p, keys)
	if err != nil {
		return keySets{}, err
	}
	if len(theirs) != len(keys) {
		return keySets{}, fmt.Errorf("fetch of %d keys answered %d sets", len(keys), len(theirs))
	}
	// Merge concurrently: the store commits concurrent writes together.
	changed := make([]bool, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, key := range keys {
		if !theirs[i].IsEmpty() {
			wg.Go(func() { changed[i], errs[i] = e.local.Merge(ctx, p, key, theirs[i]) })
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return keySets{}, err
	}
	var out keySets
	bytes := 0
	for i, key := range keys {
		res.BytesSent += len(key)
		n := encodedLen(theirs[i])
		res.BytesReceived += n
		bytes += n
		if changed[i] {
			res.RepairedHere++
		}
		joined := vclock.Sync(local[i], theirs[i])
		if !joined.Equal(theirs[i]) {
			out.keys = append(out.keys, key)
			out.sets = append(out.sets, joined)
		}
	}
	return out, e.pacer.Wait(ctx, len(keys), bytes)
}

// send merges sets into the peer's store.
func (e *Exchanger) send(ctx context.Context, peer string, p uint32, keys [][]byte, sets []vclock.Set, res *Result) error {
	bytes := 0
	for i, key := range keys {
		bytes += len(key) + encodedLen(sets[i])
	}
	if err := e.pacer.Wait(ctx, len(keys), bytes); err != nil {
		return err
	}
	if err := e.remote.Push(ctx, peer, p, keys, sets); err != nil {
		return err
	}
	res.BytesSent += bytes
	res.RepairedThere += len(keys)
	return nil
}

func encodedLen(s vclock.Set) int {
	if s.IsEmpty() {
		return 0
	}
	var buf [512]byte
	return len(s.AppendEncode(buf[:0]))
}
