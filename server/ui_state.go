package server

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chorusdb/chorus/gossip"
	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/hints"
	"github.com/chorusdb/chorus/repair"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/version"
)

// uiSummary is what one node reports about itself to the dashboard
// (GET /v1/ui/node): the figures that only it knows. The node serving the
// page gathers every member's summary into a uiState.
type uiSummary struct {
	Node     string `json:"node"`
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Zone     string `json:"zone"`
	UptimeMS int64  `json:"uptime_ms"`
	// Totals are the cumulative counts since the node started.
	Totals uiTotals `json:"totals"`
	Rates  uiRates  `json:"rates"`
	Hints  uiHints  `json:"hints"`
	// Transfers are the partitions this node pulls from others (ownership
	// handoff), with progress and ETA.
	Transfers   uiTransfers `json:"transfers"`
	AntiEntropy uiAAE       `json:"anti_entropy"`
}

type uiTotals struct {
	Gets    uint64 `json:"gets"`
	Puts    uint64 `json:"puts"`
	Deletes uint64 `json:"deletes"`
	Errors  uint64 `json:"errors"`
}

type uiHints struct {
	Queued      int            `json:"queued"`
	QueuedBytes int64          `json:"queued_bytes"`
	Delivered   uint64         `json:"delivered"`
	Targets     []uiHintTarget `json:"targets"`
}

type uiHintTarget struct {
	Target      string  `json:"target"`
	Queued      int     `json:"queued"`
	QueuedBytes int64   `json:"queued_bytes"`
	OldestAgeMS float64 `json:"oldest_age_ms"`
	LastError   string  `json:"last_error,omitempty"`
}

type uiTransfers struct {
	Waiting   int          `json:"waiting"`
	Running   int          `json:"running"`
	Stalled   int          `json:"stalled"`
	Done      uint64       `json:"done"`
	ETAMS     float64      `json:"eta_ms"`
	Owed      int          `json:"owed"`
	Delivered int          `json:"delivered"`
	List      []uiTransfer `json:"list"`
}

type uiTransfer struct {
	Partition  uint32  `json:"partition"`
	State      string  `json:"state"`
	Source     string  `json:"source"`
	Keys       uint64  `json:"keys"`
	Bytes      uint64  `json:"bytes"`
	Progress   float64 `json:"progress"`
	KeysPerSec float64 `json:"keys_per_sec"`
	ETAMS      float64 `json:"eta_ms"`
	Error      string  `json:"error,omitempty"`
}

// uiAAE is anti-entropy seen from one node, one row per peer: the pairs
// (partition, peer) summed up, since a table of Q × N pairs per node says
// less at a glance than "when did we last agree with each peer".
type uiAAE struct {
	Enabled bool        `json:"enabled"`
	Peers   []uiAAEPeer `json:"peers"`
}

type uiAAEPeer struct {
	Peer       string `json:"peer"`
	Partitions int    `json:"partitions"`
	// Exchanged counts the pairs exchanged at least once, Failing those
	// whose latest exchange failed.
	Exchanged int `json:"exchanged"`
	Failing   int `json:"failing"`
	// LastAgoMS is how long ago the latest exchange with the peer started;
	// OldestSuccessAgoMS how long ago the least recently agreed pair last
	// succeeded (-1 when some pair never succeeded).
	LastAgoMS          int64  `json:"last_ago_ms"`
	OldestSuccessAgoMS int64  `json:"oldest_success_ago_ms"`
	Repaired           uint64 `json:"repaired"`
	LastError          string `json:"last_error,omitempty"`
}

// uiSummary assembles the node's summary at now, sampling its counters
// for the rates.
func (n *Node) uiSummary(now time.Time) uiSummary {
	info := version.Get()
	s := uiSummary{Node: n.ID(), Version: info.Version, Commit: info.Commit, Zone: n.cfg.Zone,
		UptimeMS: now.Sub(n.started).Milliseconds()}
	sample, totals := n.uiSample(now)
	s.Totals = totals
	s.Rates = roundRates(n.ui.rates.add(sample))
	s.Hints = uiHintsOf(n.hints.Stats())
	s.Transfers = uiTransfersOf(n.handoff.Status())
	if n.repair != nil {
		s.AntiEntropy = uiAAEOf(n.repair.Status(), now)
	}
	return s
}

// uiSample reads the counters the rates come from: the request histogram
// (requests by op and their latencies) and the coordinator's counters.
func (n *Node) uiSample(now time.Time) (counterSample, uiTotals) {
	s := counterSample{At: now}
	for i := range s.Latency {
		s.Latency[i] = make([]uint64, len(requestBuckets)+1)
	}
	var t uiTotals
	mfs, err := n.ui.requests.Gather()
	if err != nil {
		n.log.Warn("ui: request histogram not read", "err", err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			h := m.GetHistogram()
			count := h.GetSampleCount()
			lat := -1
			switch labels["op"] {
			case "get":
				t.Gets += count
				lat = latGet
			case "put":
				t.Puts += count
				lat = latPut
			case "delete":
				t.Deletes += count
			}
			if labels["result"] == "error" {
				t.Errors += count
			}
			if lat >= 0 {
				addBuckets(s.Latency[lat], h.GetBucket(), count)
			}
		}
	}
	c := n.coord.Stats()
	s.Counts = [numRates]uint64{rateGets: t.Gets, ratePuts: t.Puts, rateDeletes: t.Deletes, rateErrors: t.Errors,
		rateSloppy: c.Sloppy, rateReadRepairs: c.ReadRepairs, rateHinted: c.Hinted, rateQuorumFailures: c.QuorumFailures}
	return s, t
}

// histogramBucket is the part of a Prometheus bucket addBuckets reads.
type histogramBucket interface{ GetCumulativeCount() uint64 }

// addBuckets adds a Prometheus histogram's cumulative buckets (one per
// requestBuckets bound, in order) and its total count to per-bucket
// counts, the last of which is +Inf.
func addBuckets[B histogramBucket](dst []uint64, buckets []B, total uint64) {
	var prev uint64
	for i, b := range buckets {
		if i >= len(dst)-1 {
			break
		}
		c := b.GetCumulativeCount()
		dst[i] += delta(c, prev)
		prev = c
	}
	dst[len(dst)-1] += delta(total, prev)
}

func roundRates(r uiRates) uiRates {
	for _, f := range []*float64{&r.Gets, &r.Puts, &r.Deletes, &r.Errors, &r.Sloppy,
		&r.ReadRepairs, &r.Hinted, &r.QuorumFailures, &r.GetP99MS, &r.PutP99MS} {
		*f = roundTo(*f, 3)
	}
	r.WindowMS = roundTo(r.WindowMS, 3)
	return r
}

func uiHintsOf(h hints.Stats) uiHints {
	out := uiHints{Queued: h.Queued, QueuedBytes: h.QueuedBytes, Delivered: h.Delivered, Targets: []uiHintTarget{}}
	for target, ts := range h.Targets {
		row := uiHintTarget{Target: target, Queued: ts.Queued, QueuedBytes: ts.QueuedBytes, OldestAgeMS: uiMillis(ts.OldestAge)}
		if ts.LastError != nil {
			row.LastError = ts.LastError.Error()
		}
		out.Targets = append(out.Targets, row)
	}
	slices.SortFunc(out.Targets, func(a, b uiHintTarget) int { return cmp.Compare(a.Target, b.Target) })
	return out
}

func uiTransfersOf(s handoff.Status) uiTransfers {
	out := uiTransfers{Waiting: s.Waiting, Running: s.InFlight, Stalled: s.Stalled, Done: s.Done,
		ETAMS: uiMillis(s.ETA), Owed: s.Owed, Delivered: s.Delivered, List: []uiTransfer{}}
	for _, t := range s.Transfers {
		out.List = append(out.List, uiTransfer{Partition: t.Partition, State: t.State, Source: t.Source,
			Keys: t.Keys, Bytes: t.Bytes, Progress: roundTo(t.Progress, 4), KeysPerSec: roundTo(t.KeysPerSec, 1),
			ETAMS: uiMillis(t.ETA), Error: t.Error})
	}
	return out
}

func uiMillis(d time.Duration) float64 { return roundTo(float64(d)/float64(time.Millisecond), 1) }

// uiAAEOf sums the pairs up per peer.
func uiAAEOf(pairs []repair.PairStatus, now time.Time) uiAAE {
	byPeer := map[string]*uiAAEPeer{}
	var lastStart = map[string]time.Time{}
	var oldest = map[string]time.Time{}
	never := map[string]bool{}
	for _, p := range pairs {
		row := byPeer[p.Peer]
		if row == nil {
			row = &uiAAEPeer{Peer: p.Peer, LastAgoMS: -1}
			byPeer[p.Peer] = row
		}
		row.Partitions++
		row.Repaired += p.Repaired
		if !p.Last.Start.IsZero() {
			row.Exchanged++
			if p.Last.Start.After(lastStart[p.Peer]) {
				lastStart[p.Peer] = p.Last.Start
			}
		}
		if p.LastError != "" {
			row.Failing++
			row.LastError = p.LastError
		}
		switch {
		case p.LastSuccess.IsZero():
			never[p.Peer] = true
		case oldest[p.Peer].IsZero() || p.LastSuccess.Before(oldest[p.Peer]):
			oldest[p.Peer] = p.LastSuccess
		}
	}
	out := uiAAE{Enabled: true, Peers: []uiAAEPeer{}}
	for peer, row := range byPeer {
		if t, ok := lastStart[peer]; ok {
			row.LastAgoMS = max(0, now.Sub(t).Milliseconds())
		}
		row.OldestSuccessAgoMS = -1
		if t, ok := oldest[peer]; ok && !never[peer] {
			row.OldestSuccessAgoMS = max(0, now.Sub(t).Milliseconds())
		}
		out.Peers = append(out.Peers, *row)
	}
	slices.SortFunc(out.Peers, func(a, b uiAAEPeer) int { return cmp.Compare(a.Peer, b.Peer) })
	return out
}

// maxUISummaryBytes bounds a peer's summary as read: a node with a few
// hundred transfers and peers writes tens of KiB.
const maxUISummaryBytes = 4 << 20

// decodeUISummary decodes a peer's summary, refusing one that is too
// large, not JSON, or without a node ID.
func decodeUISummary(b []byte) (uiSummary, error) {
	var s uiSummary
	if len(b) > maxUISummaryBytes {
		return s, fmt.Errorf("server: ui summary of %d bytes, limit %d", len(b), maxUISummaryBytes)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return uiSummary{}, fmt.Errorf("server: ui summary: %w", err)
	}
	if s.Node == "" {
		return uiSummary{}, errors.New("server: ui summary: no node")
	}
	return s, nil
}

// uiMember is one ring member as the dashboard lists it.
type uiMember struct {
	ID       string  `json:"id"`
	Zone     string  `json:"zone"`
	Status   string  `json:"status"`
	Alive    bool    `json:"alive"`
	HTTPAddr string  `json:"http_addr"`
	Weight   float64 `json:"weight"`
	// Primaries counts the partitions the node is first of in coordinator
	// order (replica.CoordinatorOrder), Replicas those it is one of the N
	// primaries of.
	Primaries int `json:"primaries"`
	Replicas  int `json:"replicas"`
}

// uiNodeView is one member's summary as the serving node got it: Summary
// is nil and Error says why when the node could not be asked.
type uiNodeView struct {
	Summary *uiSummary `json:"summary,omitempty"`
	Error   string     `json:"error,omitempty"`
	FetchMS float64    `json:"fetch_ms"`
}

// uiState is GET /v1/ui/state: the whole cluster as one node sees it and
// gathered from the others.
type uiState struct {
	Node        string     `json:"node"`
	TimeMS      int64      `json:"time_ms"`
	RingVersion uint64     `json:"ring_version"`
	Partitions  int        `json:"partitions"`
	Replicas    int        `json:"replicas"`
	Members     []uiMember `json:"members"`
	// Owners lists, per partition, the primaries (best first) as indexes
	// into Members: a 4096-partition ring stays a few tens of KiB.
	Owners [][]int               `json:"owners"`
	Nodes  map[string]uiNodeView `json:"nodes"`
}

// uiRing fills the ring part of s from the node's records and ring.
func (n *Node) uiRing(s *uiState, recs []gossip.MemberRecord) {
	index := map[string]int{}
	for _, r := range recs {
		if !r.Placed || r.Removed != 0 {
			continue
		}
		index[r.ID] = len(s.Members)
		s.Members = append(s.Members, uiMember{ID: r.ID, Zone: r.Zone, Status: strings.ToLower(r.Status.String()),
			Alive: n.members.Alive(r.ID), HTTPAddr: r.HTTPAddr, Weight: cmp.Or(r.Weight, 1)})
	}
	s.Owners = [][]int{}
	rg := n.coord.Ring()
	if rg == nil {
		return
	}
	s.Partitions, s.Replicas = rg.Partitions(), rg.Replicas()
	for p := range rg.Partitions() {
		// Coordinator order, as /v1/cluster/ring shows it: the ring's own
		// first primary is one node for every partition of a cluster grown
		// from one node.
		prim := replica.CoordinatorOrder(rg.Primaries(uint32(p)), uint32(p))
		row := make([]int, 0, len(prim))
		for i, id := range prim {
			j, ok := index[id]
			if !ok {
				continue
			}
			row = append(row, j)
			s.Members[j].Replicas++
			if i == 0 {
				s.Members[j].Primaries++
			}
		}
		s.Owners = append(s.Owners, row)
	}
}

// uiRequests is a registry of the request histogram alone, so a summary
// gathers it without the Go and process collectors of /metrics.
func uiRequests(m *metrics) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.requestsVec)
	return reg
}
