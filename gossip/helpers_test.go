package gossip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// fastMemberlist is DefaultLocalConfig sped up for tests: a dead node is
// declared dead within about 1–4 s, and push/pull runs every second.
func fastMemberlist() *memberlist.Config {
	c := memberlist.DefaultLocalConfig()
	c.ProbeInterval = 200 * time.Millisecond
	c.ProbeTimeout = 100 * time.Millisecond
	c.GossipInterval = 50 * time.Millisecond
	c.PushPullInterval = time.Second
	c.TCPTimeout = time.Second
	return c
}

// testLogWriter sends logs to t.Log until the test ends; memberlist's
// goroutines may log a little after Close returns, and t.Log would panic.
type testLogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Logf("%s", p)
	}
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &testLogWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func testConfig(t *testing.T, id string) Config {
	c := DefaultConfig()
	c.NodeID = id
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.GRPCAddr = "127.0.0.1:7" + id
	c.HTTPAddr = "127.0.0.1:8" + id
	c.Memberlist = fastMemberlist()
	c.Logger = testLogger(t)
	c.LeaveTimeout = time.Second
	c.JoinBackoff = 50 * time.Millisecond
	c.JoinMaxBackoff = 200 * time.Millisecond
	return c
}

func startNode(t *testing.T, c Config) *Membership {
	t.Helper()
	m, err := New(c)
	if err != nil {
		t.Fatalf("New(%q): %v", c.NodeID, err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close(%s): %v", m.ID(), err)
		}
	})
	return m
}

func join(t *testing.T, m *Membership, seeds ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Join(ctx, seeds); err != nil {
		t.Fatalf("%s: Join(%v): %v", m.ID(), seeds, err)
	}
}

// startCluster starts n nodes with IDs n0..n(n-1), edited by edit, and
// joins each to n0; n0 joins only itself, so it bootstraps the ring.
func startCluster(t *testing.T, n int, edit func(i int, c *Config)) []*Membership {
	t.Helper()
	nodes := make([]*Membership, n)
	for i := range nodes {
		c := testConfig(t, "n"+strconv.Itoa(i))
		if edit != nil {
			edit(i, &c)
		}
		nodes[i] = startNode(t, c)
		join(t, nodes[i], nodes[0].GossipAddr())
	}
	return nodes
}

// converged reports whether every node holds the same ring state, every
// one of ids has the given status in it, and every node sees all of ids
// alive.
func converged(nodes []*Membership, st Status, ids ...string) error {
	for _, m := range nodes {
		if m.RingHash() != nodes[0].RingHash() {
			return fmt.Errorf("%s ring %v differs from %s ring %v",
				m.ID(), m.Ring().Records(), nodes[0].ID(), nodes[0].Ring().Records())
		}
		for _, id := range ids {
			if r, ok := m.Ring().Get(id); !ok || r.Status != st {
				return fmt.Errorf("%s: record of %s is %+v (present %v), want status %v", m.ID(), id, r, ok, st)
			}
			if st != StatusRemoved && !m.Alive(id) {
				return fmt.Errorf("%s does not see %s alive", m.ID(), id)
			}
		}
	}
	return nil
}

func ids(nodes []*Membership) []string {
	var out []string
	for _, m := range nodes {
		out = append(out, m.ID())
	}
	return out
}

// memStore is an in-memory StateStore that can be told to fail.
type memStore struct {
	mu      sync.Mutex
	data    []byte
	saves   int
	failErr error
}

func (s *memStore) LoadState() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.data...), nil
}

func (s *memStore) SaveState(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return s.failErr
	}
	s.data = append([]byte(nil), b...)
	s.saves++
	return nil
}

func (s *memStore) failWith(err error) {
	s.mu.Lock()
	s.failErr = err
	s.mu.Unlock()
}

func (s *memStore) state(t *testing.T) (string, State) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	id, st, err := decodePersisted(s.data)
	if err != nil {
		t.Fatalf("persisted state: %v", err)
	}
	return id, st
}

var errInjected = errors.New("injected store failure")

// freePort returns a port free for both TCP and UDP on 127.0.0.1, for a
// node that must start later on a known address.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// data0 returns what was last saved.
func (s *memStore) data0() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.data...)
}
