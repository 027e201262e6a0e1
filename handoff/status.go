package handoff

import (
	"cmp"
	"slices"
	"time"

	"github.com/chorusdb/chorus/antientropy"
)

// TransferStatus describes one pending transfer.
type TransferStatus struct {
	Partition uint32 `json:"partition"`
	// State is "waiting", "running" or "stalled".
	State  string `json:"state"`
	Source string `json:"source,omitempty"`
	Keys   uint64 `json:"keys"`
	Bytes  uint64 `json:"bytes"`
	// Progress is the share of the partition pulled, 0 to 1, estimated
	// from the scan position (keys are scanned in hash order).
	Progress float64 `json:"progress"`
	// KeysPerSec is the transfer's rate since it started.
	KeysPerSec float64 `json:"keys_per_sec"`
	// ETA estimates the time left; 0 when unknown.
	ETA     time.Duration `json:"-"` // JSON: eta_ms
	Started time.Time     `json:"started"`
	Error   string        `json:"error,omitempty"`
}

// Status summarises the node's transfers.
type Status struct {
	Waiting  int `json:"waiting"`
	InFlight int `json:"in_flight"`
	Stalled  int `json:"stalled"`
	// Done counts transfers completed since the node started.
	Done uint64 `json:"done"`
	// Keys and Bytes were pulled since the node started.
	Keys  uint64 `json:"keys"`
	Bytes uint64 `json:"bytes"`
	// KeysPerSec is the pull rate of the transfers running now.
	KeysPerSec float64 `json:"keys_per_sec"`
	// ETA estimates when every transfer is done: the partitions left
	// times the mean time a transfer took here, over the workers; 0 when
	// unknown or nothing is left.
	ETA time.Duration `json:"-"` // JSON: eta_ms
	// Owed and Delivered count the handoffs this node owes new owners.
	Owed      int `json:"owed"`
	Delivered int `json:"delivered"`
	// OwedPartitions, SentKeys and SentBytes are the partitions owed and
	// what was served of them so far (Outbound).
	OwedPartitions int              `json:"owed_partitions"`
	SentKeys       uint64           `json:"sent_keys"`
	SentBytes      uint64           `json:"sent_bytes"`
	Transfers      []TransferStatus `json:"transfers"`
}

// Status returns the transfers in partition order.
func (m *Manager) Status() Status {
	out := m.OutgoingStatus()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Status{Done: m.stats.Completed, Keys: m.stats.Keys, Bytes: m.stats.Bytes,
		Owed: out.Owed, Delivered: out.Delivered, OwedPartitions: out.Partitions, SentKeys: out.Keys,
		SentBytes: out.Bytes, Transfers: []TransferStatus{}}
	now := m.cfg.Clock.Now()
	for _, t := range m.pending {
		ts := TransferStatus{Partition: t.Partition, State: "waiting", Source: t.Source, Keys: t.Keys,
			Bytes: t.Bytes, Started: t.Started, Error: t.err}
		switch {
		case t.stalled:
			ts.State = "stalled"
			s.Stalled++
		case t.running:
			ts.State = "running"
			s.InFlight++
		default:
			s.Waiting++
		}
		ts.Progress = progress(t)
		if el := now.Sub(t.Started).Seconds(); el > 0 {
			ts.KeysPerSec = float64(t.Keys) / el
			if ts.Progress > 0.01 {
				ts.ETA = time.Duration(el * (1 - ts.Progress) / ts.Progress * float64(time.Second))
			}
		}
		if t.running {
			s.KeysPerSec += ts.KeysPerSec
		}
		s.Transfers = append(s.Transfers, ts)
	}
	if left := s.Waiting + s.InFlight + s.Stalled; left > 0 && m.stats.Completed > 0 {
		mean := m.busy / time.Duration(m.stats.Completed)
		s.ETA = mean * time.Duration(left) / time.Duration(max(1, m.cfg.Concurrency))
	}
	slices.SortFunc(s.Transfers, func(a, b TransferStatus) int { return cmp.Compare(a.Partition, b.Partition) })
	return s
}

// Stats returns the counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// progress estimates the pulled share from the cursor's slot: keys are
// scanned in slot order and slots are uniform, so the slot of the last key
// merged, over 2^16, is the share of the current source done.
func progress(t *transfer) float64 {
	sources := 1
	if t.Replaced == "" || t.Source != t.Replaced {
		sources = max(1, len(t.Others))
	}
	var cur float64
	if len(t.Cursor) > 0 {
		cur = float64(int(antientropy.Slot(t.Cursor))+1) / 65536
	}
	return min(1, (float64(len(t.Pulled))+cur)/float64(sources))
}
