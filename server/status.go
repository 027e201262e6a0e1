package server

import (
	"context"
	"time"

	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/hints"
	"github.com/chorusdb/chorus/repair"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/storage"
)

// Status is what /v1/status reports about a node.
type Status struct {
	Node        string          `json:"node"`
	Addrs       Addrs           `json:"addrs"`
	UptimeMS    int64           `json:"uptime_ms"`
	RingVersion uint64          `json:"ring_version"`
	RingSize    int             `json:"ring_size"`
	Partitions  int             `json:"partitions"`
	Replicas    int             `json:"replicas"`
	Owned       int             `json:"primary_partitions"`
	LiveNodes   []string        `json:"live_nodes"`
	Requests    replica.Stats   `json:"requests"`
	Hints       hintStatus      `json:"hints"`
	Storage     storage.Stats   `json:"storage"`
	AntiEntropy aaeStatus       `json:"anti_entropy"`
	Handoff     handoff.Status  `json:"handoff"`
	Tombstones  tombstoneStatus `json:"tombstones"`
	// TLS reports whether the node's listeners are secured; a node
	// serving plaintext says so in Warnings on every status.
	TLS      bool     `json:"tls"`
	Warnings []string `json:"warnings,omitempty"`
}

type tombstoneStatus struct {
	GraceMS int64 `json:"grace_ms"`
	repair.CollectStats
}

// aaeStatus summarises anti-entropy; /v1/anti-entropy lists every pair.
type aaeStatus struct {
	Enabled bool                 `json:"enabled"`
	Trees   storage.TreeProgress `json:"trees"`
	Round   repair.RoundProgress `json:"round"`
	Stats   repair.Stats         `json:"stats"`
}

type hintStatus struct {
	Queued      int     `json:"queued"`
	QueuedBytes int64   `json:"queued_bytes"`
	Delivered   uint64  `json:"delivered"`
	Dropped     uint64  `json:"dropped"`
	OldestAgeMS float64 `json:"oldest_age_ms"`
}

// Ring returns the ring the node routes by: nil until it has joined.
func (n *Node) Ring() *ring.Ring { return n.coord.Ring() }

// Status returns the node's current figures.
func (n *Node) Status() Status {
	s := Status{Node: n.ID(), Addrs: n.addrs, UptimeMS: time.Since(n.started).Milliseconds(),
		RingVersion: n.members.RingHash(), Requests: n.coord.Stats(), Storage: n.db.Stats()}
	if r := n.coord.Ring(); r != nil {
		s.RingSize, s.Partitions, s.Replicas = r.Size(), r.Partitions(), r.Replicas()
		s.Owned = len(r.PrimaryPartitions(n.ID()))
	}
	for _, r := range n.members.Records() {
		if n.members.Alive(r.ID) {
			s.LiveNodes = append(s.LiveNodes, r.ID)
		}
	}
	s.Hints = hintStatusOf(n.hints.Stats())
	s.AntiEntropy = n.aaeStatus()
	s.Handoff = n.handoff.Status()
	s.Tombstones = tombstoneStatus{GraceMS: n.collector.Grace().Milliseconds(), CollectStats: n.collector.Stats()}
	s.TLS = n.cfg.TLS != nil
	if !s.TLS && n.cfg.MemNet == nil {
		s.Warnings = append(s.Warnings, insecureWarning)
	}
	return s
}

func (n *Node) aaeStatus() aaeStatus {
	if n.repair == nil {
		return aaeStatus{}
	}
	return aaeStatus{Enabled: true, Trees: n.db.TreeProgress(), Round: n.repair.Progress(), Stats: n.repair.Stats()}
}

// AntiEntropyPairs returns the state of every (partition, peer) pair this
// node has exchanged: when, and what was repaired.
func (n *Node) AntiEntropyPairs() []repair.PairStatus {
	if n.repair == nil {
		return nil
	}
	return n.repair.Status()
}

func (n *Node) status(context.Context) any { return n.Status() }

func hintStatusOf(h hints.Stats) hintStatus {
	return hintStatus{Queued: h.Queued, QueuedBytes: h.QueuedBytes, Delivered: h.Delivered,
		Dropped: h.DroppedAge + h.DroppedFull + h.DroppedCorrupt, OldestAgeMS: float64(h.OldestAge) / float64(time.Millisecond)}
}
