package server

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/hints"
	"github.com/chorusdb/chorus/repair"
)

// The anti-entropy pairs are summed up per peer: the latest exchange, the
// least recently agreed pair (or "never" when one never agreed), failures.
func TestUIAAEOf(t *testing.T) {
	now := time.Unix(10_000, 0)
	at := func(ago time.Duration) time.Time { return now.Add(-ago) }
	pair := func(p uint32, peer string, last, success time.Duration, repaired uint64, err string) repair.PairStatus {
		s := repair.PairStatus{Pair: repair.Pair{Partition: p, Peer: peer}, Repaired: repaired, LastError: err}
		if last >= 0 {
			s.Last.Start = at(last)
		}
		if success >= 0 {
			s.LastSuccess = at(success)
		}
		return s
	}
	got := uiAAEOf([]repair.PairStatus{
		pair(1, "b", 5*time.Second, 5*time.Second, 2, ""),
		pair(2, "b", time.Second, 40*time.Second, 3, "boom"), // failed now, agreed 40 s ago
		pair(3, "b", -1, -1, 0, ""),                          // never exchanged
		pair(1, "a", 2*time.Second, 2*time.Second, 0, ""),
		pair(4, "a", 9*time.Second, 9*time.Second, 1, ""),
	}, now)
	want := []uiAAEPeer{
		{Peer: "a", Partitions: 2, Exchanged: 2, LastAgoMS: 2000, OldestSuccessAgoMS: 9000, Repaired: 1},
		{Peer: "b", Partitions: 3, Exchanged: 2, Failing: 1, LastAgoMS: 1000, OldestSuccessAgoMS: -1, Repaired: 5, LastError: "boom"},
	}
	if !got.Enabled || !slices.Equal(got.Peers, want) {
		t.Fatalf("uiAAEOf:\n got %+v\nwant %+v", got.Peers, want)
	}
	if got := uiAAEOf(nil, now); got.Peers == nil || len(got.Peers) != 0 {
		t.Fatalf("no pairs: %+v, want an empty list (JSON [])", got)
	}
}

func TestUIHintsAndTransfersOf(t *testing.T) {
	h := uiHintsOf(hints.Stats{Queued: 5, QueuedBytes: 500, Delivered: 7, Targets: map[string]hints.TargetStats{
		"c": {Queued: 3, QueuedBytes: 300, OldestAge: 1500 * time.Millisecond, LastError: errors.New("refused")},
		"b": {Queued: 2, QueuedBytes: 200},
	}})
	if h.Queued != 5 || len(h.Targets) != 2 || h.Targets[0].Target != "b" ||
		h.Targets[1] != (uiHintTarget{Target: "c", Queued: 3, QueuedBytes: 300, OldestAgeMS: 1500, LastError: "refused"}) {
		t.Fatalf("uiHintsOf: %+v", h)
	}
	tr := uiTransfersOf(handoff.Status{Waiting: 1, InFlight: 1, Done: 4, ETA: 3 * time.Second, Owed: 2, Delivered: 1,
		Transfers: []handoff.TransferStatus{{Partition: 7, State: "running", Source: "a", Keys: 10, Progress: 0.123456, ETA: 2500 * time.Millisecond}}})
	if tr.Running != 1 || tr.Waiting != 1 || tr.ETAMS != 3000 || tr.Owed != 2 || len(tr.List) != 1 ||
		tr.List[0] != (uiTransfer{Partition: 7, State: "running", Source: "a", Keys: 10, Progress: 0.1235, ETAMS: 2500}) {
		t.Fatalf("uiTransfersOf: %+v", tr)
	}
}
