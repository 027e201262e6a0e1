package handoff

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/chorusdb/chorus/chorustest"
)

// TestWorkersRunTransfers runs the join without Manual: the workers pull
// every gained partition on their own, and Close stops them.
func TestWorkersRunTransfers(t *testing.T) {
	for _, conc := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("concurrency=%d", conc), func(t *testing.T) {
			f := newJoinFixture(t, 20, func(c *Config) {
				c.Manual = false
				c.Concurrency = conc
				c.PageKeys = 3
			})
			chorustest.Eventually(t, "workers to finish every transfer", func() bool {
				for p := range f.gains {
					if f.m.Incomplete(p) {
						return false
					}
				}
				return true
			})
			for p, from := range f.gains {
				if got, want := keysOf(f.src, "d", p), keysOf(f.src, from, p); !maps.Equal(got, want) {
					t.Errorf("concurrency %d, partition %d: d holds %d keys, want the %d of %s", conc, p, len(got), len(want), from)
				}
			}
			if err := f.m.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if s := f.m.Stats(); s.Completed != uint64(len(f.gains)) {
				t.Errorf("concurrency %d: Completed = %d, want %d", conc, s.Completed, len(f.gains))
			}
		})
	}
}

// TestCloseStopsRunningTransfer closes a manager whose worker is blocked
// in a scan: Close returns, and the transfer stays pending.
func TestCloseStopsRunningTransfer(t *testing.T) {
	entered := make(chan struct{}, 16)
	f := newJoinFixture(t, 3, func(c *Config) { c.Manual = true })
	f.src.setHook(func(ctx context.Context, node string, p uint32, after []byte) error {
		entered <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	})
	cfg := testConfig("d", f.src.node("d"), f.src, f.live)
	cfg.Manual = false
	f.m.Close()
	m := mustNew(t, cfg) // reloads the plan; its workers start at once
	<-entered
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for p := range f.gains {
		if !m.Incomplete(p) {
			t.Errorf("Incomplete(%d) = false after Close stopped its transfer", p)
		}
	}
	if s := m.Stats(); s.Completed != 0 {
		t.Errorf("Completed = %d, want 0", s.Completed)
	}
}

func TestStoreErrors(t *testing.T) {
	t.Run("merge fails then recovers", func(t *testing.T) {
		f := newJoinFixture(t, 3, nil)
		d := f.src.node("d")
		d.mu.Lock()
		d.mergeErr = func(uint32, []byte) error { return errInjected }
		d.mu.Unlock()
		p := f.partitions[0]
		if !f.m.Step() {
			t.Fatal("Step() = false")
		}
		if !f.m.Incomplete(p) {
			t.Fatal("partition completed although every merge failed")
		}
		if ts := f.m.Status().Transfers[0]; ts.Error == "" {
			t.Errorf("transfer %+v has no error", ts)
		}
		d.mu.Lock()
		d.mergeErr = nil
		d.mu.Unlock()
		f.clk.Advance(f.retryAfter)
		if !f.m.Step() || f.m.Incomplete(p) {
			t.Fatalf("partition %d not complete after a retry once merges work: %+v", p, f.m.Status())
		}
		if got, want := keysOf(f.src, "d", p), keysOf(f.src, f.gains[p], p); !maps.Equal(got, want) {
			t.Errorf("d holds %v, want %v", sortedSet(got), sortedSet(want))
		}
	})

	t.Run("save fails", func(t *testing.T) {
		src := newFakeSource()
		st := src.node("a")
		st.saveErr = func() error { return errInjected }
		m := mustNew(t, testConfig("a", st, src, newFakeLiveness()))
		err := m.Update(context.Background(), nil, mustRing(t, memA, memB, memC))
		if !errors.Is(err, errInjected) {
			t.Errorf("Update error = %v, want the store's error", err)
		}
	})
}

func TestNewSavedState(t *testing.T) {
	tests := []struct {
		name  string
		state string
		ok    bool
	}{
		{"none", "", true},
		{"empty", `{"version":1}`, true},
		{"garbage", `{not json`, false},
		{"other version", `{"version":2}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newFakeSource()
			st := src.node("a")
			if tt.state != "" {
				st.state = []byte(tt.state)
			}
			m, err := New(testConfig("a", st, src, newFakeLiveness()))
			if (err == nil) != tt.ok {
				t.Fatalf("New with state %q: err = %v, want ok %v", tt.state, err, tt.ok)
			}
			if err == nil {
				if got, want := m.Fresh(), tt.state == ""; got != want {
					t.Errorf("Fresh() = %v, want %v", got, want)
				}
				m.Close()
			}
		})
	}
}

// TestStateSaved checks the plan is saved at Update and the completion at
// the last transfer's end: a new manager over the store sees both.
func TestStateSaved(t *testing.T) {
	f := newJoinFixture(t, 2, nil)
	d := f.src.node("d")
	if d.saveCount() == 0 {
		t.Fatal("Update saved nothing")
	}
	stepAll(f.m)
	m2 := mustNew(t, testConfig("d", d, f.src, f.live))
	for p := range uint32(16) {
		_, gain := f.gains[p]
		if m2.Incomplete(p) || m2.SourceComplete(p) != gain {
			t.Errorf("reloaded partition %d: Incomplete %v SourceComplete %v, want false, %v",
				p, m2.Incomplete(p), m2.SourceComplete(p), gain)
		}
	}
}
