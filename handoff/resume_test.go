package handoff

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
)

func TestResumeAfterRestart(t *testing.T) {
	const (
		keys     = 2000
		pageKeys = 100
		before   = 5 // pages served before the stop
	)
	f := newJoinFixture(t, 0, func(c *Config) { c.PageKeys = pageKeys })
	p := f.partitions[0] // Step runs the lowest partition first
	from := f.gains[p]
	for i := range keys {
		f.src.node(from).put(p, fmt.Sprintf("big/%05d", i), from)
	}
	stopped := make(chan struct{})
	var once sync.Once
	f.src.setHook(func(ctx context.Context, node string, q uint32, after []byte) error {
		if q == p && f.src.pagesFrom(node, q) >= before {
			once.Do(func() { close(stopped) })
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	stepped := make(chan bool)
	go func() { stepped <- f.m.Step() }()
	<-stopped
	if err := f.m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	<-stepped
	if got := len(f.src.node("d").keys(p)); got != before*pageKeys {
		t.Fatalf("first run merged %d keys, want %d", got, before*pageKeys)
	}
	f.src.setHook(nil)

	cfg := testConfig("d", f.src.node("d"), f.src, f.live)
	cfg.PageKeys = pageKeys
	m2 := mustNew(t, cfg)
	if m2.Fresh() {
		t.Fatal("Fresh() = true although state was saved")
	}
	for q := range f.gains {
		if !m2.Incomplete(q) {
			t.Errorf("reloaded: Incomplete(%d) = false, want the transfer still pending", q)
		}
	}
	if err := m2.Update(context.Background(), nil, f.r4); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if n := stepAll(m2); n != len(f.gains) {
		t.Errorf("second run ran %d transfers, want %d", n, len(f.gains))
	}
	for q := range f.gains {
		if m2.Incomplete(q) {
			t.Errorf("Incomplete(%d) = true after the second run: %+v", q, m2.Status())
		}
	}
	if got, want := keysOf(f.src, "d", p), keysOf(f.src, from, p); !maps.Equal(got, want) || len(got) != keys {
		t.Errorf("d holds %d keys of partition %d, want the %d of %s", len(got), p, keys, from)
	}
	served := f.src.servedKeys(p)
	if served > keys+pageKeys {
		t.Errorf("sources served %d keys of a %d-key partition over both runs, want at most %d (resumed at the cursor)",
			served, keys, keys+pageKeys)
	}
	if s := m2.Stats(); s.Keys != uint64(keys-before*pageKeys) {
		t.Errorf("second run Stats.Keys = %d, want %d", s.Keys, keys-before*pageKeys)
	}
}
