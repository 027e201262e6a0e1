package pbs

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// sim runs the trials of one Predict call. A trial places time 0 at the
// commit of the latest write and samples, in this order: the latest write,
// the read, then older writes one at a time, backwards in time, only while
// they can still change the outcome at some delta. Sampling backwards is
// exact: every write has fresh i.i.d. delays and only relative times matter.
//
// All scratch slices are allocated once, so a trial allocates nothing, and
// the hot methods copy the fields they use into locals first, which spares
// reloading them after every store (most costly under -race).
type sim struct {
	q        Quorum
	legs     Legs
	gap      Distribution    // nil: zero
	nodes    int             // 0: coordinators are never replicas
	localAck Distribution    // nil: zero
	client   [2]Distribution // ClientAck, ClientRead; nil: zero

	// Per trial: the replica that is the write's (read's) coordinator,
	// -1 when it is none of them; and the client's delay of the read.
	writerAt, readerAt int
	clientDelay        time.Duration
	maxK               int
	deltas             []time.Duration
	minDelta           time.Duration
	r                  *rand.Rand

	w     []time.Duration // W_i of the write being sampled, per replica
	acks  []time.Duration // A_i, then W_i + A_i sorted to find the W-th
	rq    []time.Duration // R_i of the read, per replica
	rs    []time.Duration // S_i, then R_i + S_i, per replica
	order []int           // replicas by response time; the first R respond

	// th[v] is the smallest delta at which some responder holds the
	// version v versions behind the latest (the read request reaches
	// replica i at delta+R_i and it holds a version from its W_i on).
	th     []time.Duration
	counts [][]int64 // counts[delta index][versions behind]
}

func newSim(cfg Config, r *rand.Rand) *sim {
	n := cfg.Quorum.N
	s := &sim{
		q:        cfg.Quorum,
		legs:     cfg.Legs,
		gap:      cfg.Gap,
		nodes:    cfg.Nodes,
		localAck: cfg.LocalAck,
		client:   [2]Distribution{cfg.ClientAck, cfg.ClientRead},
		maxK:     cfg.MaxK,
		deltas:   cfg.Deltas,
		minDelta: slices.Min(cfg.Deltas),
		r:        r,
		w:        make([]time.Duration, n),
		acks:     make([]time.Duration, n),
		rq:       make([]time.Duration, n),
		rs:       make([]time.Duration, n),
		order:    make([]int, n),
		th:       make([]time.Duration, cfg.MaxK),
		counts:   make([][]int64, len(cfg.Deltas)),
	}
	for i := range s.counts {
		s.counts[i] = make([]int64, cfg.MaxK+1)
	}
	return s
}

// fill sets every dst[i] to a fresh sample of d, counting nil as zero
// and negative samples as zero. It fills a whole slice per call, with the
// type switch outside the loop, because a trial draws several times per
// replica: one call per leg instead of one per draw, and the package's own
// types inlined, make trials markedly cheaper, under -race most of all.
func fill(dst []time.Duration, d Distribution, r *rand.Rand) {
	switch d := d.(type) {
	case nil:
		clear(dst)
	case Constant:
		v := max(time.Duration(d), 0)
		for i := range dst {
			dst[i] = v
		}
	case Exponential:
		for i := range dst {
			dst[i] = max(d.Sample(r), 0)
		}
	case *Empirical:
		for i := range dst {
			dst[i] = d.Sample(r)
		}
	default:
		for i := range dst {
			dst[i] = max(d.Sample(r), 0)
		}
	}
}

// draw returns one sample of d, as fill would.
func draw(d Distribution, r *rand.Rand) time.Duration {
	var v [1]time.Duration
	fill(v[:], d, r)
	return v[0]
}

// trial runs one trial and counts its outcome at every delta.
func (s *sim) trial() {
	n := s.sampleHistory()
	for i, d := range s.deltas {
		s.counts[i][behind(s.th[:n], d, s.maxK)]++
	}
}

// place draws the trial's coordinators and client delay.
func (s *sim) place() {
	s.writerAt, s.readerAt = -1, -1
	if s.nodes > 0 {
		n := s.q.N
		if s.r.IntN(s.nodes) < n {
			s.writerAt = 0
		}
		local := n
		if s.writerAt == 0 {
			local--
		}
		if s.r.IntN(s.nodes-1) < local {
			s.readerAt = n - local // replica 1 when the writer holds 0, else 0
		}
	}
	s.clientDelay = draw(s.client[0], s.r) + draw(s.client[1], s.r)
}

// sampleHistory samples the latest write, the read, and older writes
// backwards in time, filling s.th; it returns how many versions it
// sampled. It stops early once a version is visible at the smallest delta,
// since a version visible there is visible at every delta and hides all
// older ones. The oldest of the MaxK+1 writes of the history is never
// sampled: whether a read finds it or nothing, it is MaxK behind.
func (s *sim) sampleHistory() int {
	s.place()
	var newerBegin time.Duration // when the write after the current one began
	for v := range s.maxK {
		commit := time.Duration(0) // the latest write commits at time 0
		if v > 0 {
			commit = newerBegin - draw(s.gap, s.r)
		}
		begin := commit - s.sampleWrite()
		if v == 0 {
			s.sampleRead()
		}
		s.th[v] = begin + s.earliestHolding() - s.clientDelay
		if s.th[v] <= s.minDelta {
			return v + 1
		}
		newerBegin = begin
	}
	return s.maxK
}

// behind returns the versions behind the latest that a read starting at
// delta d returns: the first (newest) version visible at d.
func behind(th []time.Duration, d time.Duration, maxK int) int {
	for v, t := range th {
		if t <= d {
			return v
		}
	}
	return maxK
}

// sampleWrite draws W_i and A_i for every replica into s.w and s.acks and
// returns the write's commit time relative to its start: the W-th smallest
// W_i + A_i. Ties do not matter here, only the time.
func (s *sim) sampleWrite() time.Duration {
	w, acks := s.w, s.acks
	fill(w, s.legs.W, s.r)
	fill(acks, s.legs.A, s.r)
	if s.writerAt >= 0 {
		w[s.writerAt], acks[s.writerAt] = 0, draw(s.localAck, s.r)
	}
	for i, wi := range w {
		acks[i] += wi
	}
	return kthSmallest(acks, s.q.W)
}

// sampleRead draws R_i and S_i for every replica and orders s.order so
// that its first R entries are the responders: the R smallest R_i + S_i,
// with ties broken uniformly at random. The order starts from replica
// numbers, never from a previous ordering such as the write's ack order:
// breaking ties by ack order would favour replicas that have the write.
func (s *sim) sampleRead() {
	rq, rs, order := s.rq, s.rs, s.order
	fill(rq, s.legs.R, s.r)
	fill(rs, s.legs.S, s.r)
	if s.readerAt >= 0 {
		rq[s.readerAt], rs[s.readerAt] = 0, 0
	}
	for i, ri := range rq {
		rs[i] += ri
		order[i] = i
	}
	smallestByKey(order, rs, s.q.R)
	breakTies(order, rs, s.q.R, s.r)
}

// breakTies makes the responders, order[:r], a uniformly random choice
// among the replicas tied at the quorum boundary, so that the result has
// the distribution of "shuffle, then stable sort" (which the closed form
// assumes) while drawing random numbers only when a tie straddles position
// r. Ties elsewhere do not change who responds. order[:r] must hold the r
// smallest keys in ascending order; order[r:] may be in any order.
func breakTies(order []int, key []time.Duration, r int, rng *rand.Rand) {
	tied := key[order[r-1]]
	// Gather the tied group into order[lo:hi], around position r.
	hi := r
	for i := r; i < len(order); i++ {
		if key[order[i]] == tied {
			order[hi], order[i] = order[i], order[hi]
			hi++
		}
	}
	if hi == r {
		return
	}
	lo := r - 1
	for lo > 0 && key[order[lo-1]] == tied {
		lo--
	}
	// Partial Fisher-Yates: fill positions lo..r-1 with a uniform sample
	// of the tied group order[lo:hi].
	for i := lo; i < r; i++ {
		j := i + rng.IntN(hi-i)
		order[i], order[j] = order[j], order[i]
	}
}

// earliestHolding returns the smallest W_i - R_i over the responders: a
// write that began at b is visible to the read at delta d if some responder
// has b + W_i <= d + R_i.
func (s *sim) earliestHolding() time.Duration {
	w, rq, responders := s.w, s.rq, s.order[:s.q.R]
	m := w[responders[0]] - rq[responders[0]]
	for _, i := range responders[1:] {
		m = min(m, w[i]-rq[i])
	}
	return m
}

// prediction turns the counts into probabilities.
func (s *sim) prediction(cfg Config) *Prediction {
	p := &Prediction{Quorum: cfg.Quorum, Trials: cfg.Trials, Points: make([]Point, len(s.deltas))}
	for i, d := range s.deltas {
		b := make([]float64, len(s.counts[i]))
		for k, c := range s.counts[i] {
			b[k] = float64(c) / float64(cfg.Trials)
		}
		p.Points[i] = Point{Delta: d, Consistent: b[0], Behind: b}
	}
	return p
}

// smallSort is the length up to which insertion beats slices.Sort;
// replication factors are almost always below it.
const smallSort = 16

// kthSmallest returns the k-th smallest (1-based) of xs, which it
// overwrites. Up to smallSort it keeps xs[:k] sorted and inserts only the
// later values that beat xs[k-1]: a trial needs the W-th fastest ack, not
// the order of them all, and k is often 1.
func kthSmallest(xs []time.Duration, k int) time.Duration {
	if len(xs) > smallSort {
		slices.Sort(xs)
		return xs[k-1]
	}
	for i := 1; i < len(xs); i++ {
		x := xs[i]
		j := min(i, k-1) // past the prefix, x replaces xs[k-1] if smaller
		if x >= xs[j] && i >= k {
			continue
		}
		for j > 0 && xs[j-1] > x {
			xs[j] = xs[j-1]
			j--
		}
		xs[j] = x
	}
	return xs[k-1]
}

// smallestByKey reorders the indices in order so that order[:r] holds the r
// with the smallest key[index], ascending; order[r:] holds the others in
// any order, and ties in any order (breakTies randomises the one that
// matters).
func smallestByKey(order []int, key []time.Duration, r int) {
	if len(order) > smallSort {
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(key[a], key[b]) })
		return
	}
	for i := 1; i < len(order); i++ {
		o := order[i]
		x := key[o]
		j := i
		if i >= r {
			// Past the prefix, o either displaces order[r-1] (which
			// moves to position i) or stays.
			if x >= key[order[r-1]] {
				continue
			}
			order[i] = order[r-1]
			j = r - 1
		}
		for j > 0 && key[order[j-1]] > x {
			order[j] = order[j-1]
			j--
		}
		order[j] = o
	}
}
