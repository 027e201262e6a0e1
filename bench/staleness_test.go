package bench

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/client"
	"github.com/chorusdb/chorus/server/localcluster"
)

// lagStore makes each written version visible to readers lag after its
// acknowledgement.
type lagStore struct {
	lag time.Duration
	mu  sync.Mutex
	at  map[string][]time.Time // key -> when version i+1 becomes visible
}

func (s *lagStore) Write(_ context.Context, key []byte, v uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if uint64(len(s.at[string(key)])) != v-1 {
		return errors.New("versions out of order")
	}
	s.at[string(key)] = append(s.at[string(key)], time.Now().Add(s.lag))
	return nil
}

func (s *lagStore) Read(_ context.Context, _ int, key []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, seen := time.Now(), uint64(0)
	for i, at := range s.at[string(key)] {
		if !now.Before(at) {
			seen = uint64(i + 1)
		}
	}
	return seen, nil
}

func (s *lagStore) Readers() int { return 2 }

// TestStalenessSeesTheLag: with every write visible 50 ms after its
// acknowledgement, reads at once are one version behind and reads after
// 100 ms are consistent.
func TestStalenessSeesTheLag(t *testing.T) {
	s := &lagStore{lag: 50 * time.Millisecond, at: map[string][]time.Time{}}
	cfg := StalenessConfig{Writes: 60, Streams: 4, Deltas: []time.Duration{0, 100 * time.Millisecond}, MaxK: 3}
	res, err := MeasureStaleness(context.Background(), s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 60 || res.WriteErrors != 0 {
		t.Fatalf("writes %d (failed %d), want 60", res.Writes, res.WriteErrors)
	}
	now, late := res.Points[0], res.Points[1]
	if now.Reads != 60 || late.Reads != 60 {
		t.Fatalf("reads %d and %d, want 60 at each delta", now.Reads, late.Reads)
	}
	if now.Consistent > 0.1 || now.Behind[1] < 0.9 {
		t.Errorf("at 0: P(consistent) %.2f, P(1 behind) %.2f; want about 0 and 1", now.Consistent, now.Behind[1])
	}
	if late.Consistent != 1 {
		t.Errorf("at 100ms: P(consistent) %.2f, want 1", late.Consistent)
	}
	if res.Gap < 100*time.Millisecond {
		t.Errorf("gap %v between a key's writes, want at least the largest delta", res.Gap)
	}
}

// TestStrictQuorumsAreNeverStale runs the measurement on a real local
// cluster: with R+W > N every read sees the latest acknowledged write,
// at every delta, through every reader.
func TestStrictQuorumsAreNeverStale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: 3, Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	var eps []string
	for _, n := range lc.Nodes {
		eps = append(eps, n.Addrs().GRPC)
	}
	c, err := client.New(ctx, client.Config{Endpoints: eps})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, q := range []struct{ r, w int }{{2, 2}, {1, 3}, {3, 1}} {
		s := NewClientVersionStore(c, eps[0], eps[1:], client.WithN(3), client.WithR(q.r), client.WithW(q.w), client.NotDurable())
		cfg := StalenessConfig{Writes: 200, Streams: 8, Deltas: []time.Duration{0, 2 * time.Millisecond},
			KeyPrefix: "strict-" + string(rune('0'+q.r)) + string(rune('0'+q.w)) + "-"}
		res, err := MeasureStaleness(ctx, s, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Points {
			if p.Reads == 0 || p.Consistent != 1 || p.Errors != 0 {
				t.Errorf("R=%d W=%d at %v: %d reads (%d errors), P(consistent) %.4f; want every read consistent",
					q.r, q.w, p.Delta, p.Reads, p.Errors, p.Consistent)
			}
		}
	}
}
