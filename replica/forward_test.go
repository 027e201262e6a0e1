package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/clock"
)

// fakeForwardNet answers pings from the nodes not in silent; unready
// nodes are not Ready.
type fakeForwardNet struct {
	mu      sync.Mutex
	silent  map[string]bool
	unready map[string]bool
	pings   []string
}

func (f *fakeForwardNet) Ready(node string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.unready[node]
}

func (f *fakeForwardNet) Ping(ctx context.Context, node string) error {
	f.mu.Lock()
	f.pings = append(f.pings, node)
	silent := f.silent[node]
	f.mu.Unlock()
	if silent {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (f *fakeForwardNet) setSilent(node string, s bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.silent[node] = s
}

type allAlive struct{}

func (allAlive) Alive(string) bool { return true }

func newTestForwarder(t *testing.T, clk *clock.Fake, net *fakeForwardNet) *Forwarder {
	t.Helper()
	cfg := DefaultForwarderConfig()
	cfg.Self, cfg.Liveness, cfg.Transport = "x", allAlive{}, net
	cfg.SilenceAfter, cfg.SuspectFor = 100*time.Millisecond, time.Second
	cfg.Clock = clk
	cfg.Logger = slog.New(slog.DiscardHandler)
	f, err := NewForwarder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// scriptedSend answers each node's send from outcomes, records the order
// of sends, and blocks the nodes in block until their context ends.
type scriptedSend struct {
	mu       sync.Mutex
	outcomes map[string]Delivery
	errs     map[string]error
	block    map[string]bool
	sent     []string
	started  chan string
}

func (s *scriptedSend) send(ctx context.Context, node string) (Delivery, error) {
	s.mu.Lock()
	s.sent = append(s.sent, node)
	block := s.block[node]
	d, err := s.outcomes[node], s.errs[node]
	s.mu.Unlock()
	if s.started != nil {
		s.started <- node
	}
	if block {
		<-ctx.Done()
		return Unknown, ctx.Err()
	}
	return d, err
}

func (s *scriptedSend) sends() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

var primariesABC = []string{"a", "b", "c"}

func TestForwardSelfIsPrimary(t *testing.T) {
	f := newTestForwarder(t, clock.NewFake(t0), &fakeForwardNet{})
	s := &scriptedSend{}
	node, err := f.Forward(context.Background(), "put", []string{"a", "x"}, 0, s.send)
	if node != "" || err != nil || len(s.sends()) != 0 {
		t.Fatalf("got (%q, %v) after sends %v; want a primary to coordinate its own write", node, err, s.sends())
	}
}

func TestForwardSendsOnceByDelivery(t *testing.T) {
	answerErr := errors.New("replica: put quorum not met: 1 of 2 replicas answered")
	tests := []struct {
		name      string
		outcomes  map[string]Delivery
		errs      map[string]error
		unready   []string
		wantNode  string
		wantSends []string
		wantErr   func(error) bool
	}{
		{name: "answered success", outcomes: map[string]Delivery{"a": Answered},
			wantNode: "a", wantSends: []string{"a"}, wantErr: func(err error) bool { return err == nil }},
		{name: "the coordinator's own error is the answer, not a reason to re-send",
			outcomes: map[string]Delivery{"a": Answered}, errs: map[string]error{"a": answerErr},
			wantNode: "a", wantSends: []string{"a"}, wantErr: func(err error) bool { return err == answerErr }},
		{name: "an answer lost after the send is indeterminate and not re-sent",
			outcomes: map[string]Delivery{"a": Unknown}, errs: map[string]error{"a": errors.New("connection reset")},
			wantNode: "a", wantSends: []string{"a"}, wantErr: isIndeterminateFrom("a")},
		{name: "a send that never left moves on",
			outcomes: map[string]Delivery{"a": NotSent, "b": Answered}, errs: map[string]error{"a": errors.New("dial")},
			wantNode: "b", wantSends: []string{"a", "b"}, wantErr: func(err error) bool { return err == nil }},
		{name: "an unready node is passed over without a send",
			outcomes: map[string]Delivery{"b": Answered}, unready: []string{"a"},
			wantNode: "b", wantSends: []string{"b"}, wantErr: func(err error) bool { return err == nil }},
		{name: "sent nowhere: the caller coordinates",
			outcomes: map[string]Delivery{"a": NotSent, "b": NotSent, "c": NotSent},
			wantNode: "", wantSends: []string{"a", "b", "c"}, wantErr: func(err error) bool { return err == nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			net := &fakeForwardNet{unready: map[string]bool{}}
			for _, n := range tc.unready {
				net.unready[n] = true
			}
			f := newTestForwarder(t, clock.NewFake(t0), net)
			s := &scriptedSend{outcomes: tc.outcomes, errs: tc.errs}
			// Partition 0 keeps the primaries' order.
			node, err := f.Forward(context.Background(), "put", primariesABC, 0, s.send)
			if node != tc.wantNode || !tc.wantErr(err) || !slices.Equal(s.sends(), tc.wantSends) {
				t.Fatalf("got node %q, err %v, sends %v; want node %q, sends %v", node, err, s.sends(), tc.wantNode, tc.wantSends)
			}
		})
	}
}

func isIndeterminateFrom(node string) func(error) bool {
	return func(err error) bool {
		var ie *IndeterminateError
		return errors.As(err, &ie) && ie.Node == node && errors.Is(err, ErrIndeterminate)
	}
}

// forwardAsync runs Forward on its own goroutine and returns where its
// result will arrive.
type forwardResult struct {
	node string
	err  error
}

func forwardAsync(f *Forwarder, s *scriptedSend) chan forwardResult {
	ch := make(chan forwardResult, 1)
	go func() {
		node, err := f.Forward(context.Background(), "put", primariesABC, 0, s.send)
		ch <- forwardResult{node, err}
	}()
	return ch
}

// waitTimers waits until the clock has n pending timers: the Forwarder
// armed its watch (or disarmed it, for 0).
func waitTimers(t *testing.T, clk *clock.Fake, n int) {
	t.Helper()
	chorustest.Eventually(t, fmt.Sprintf("%d pending timers", n), func() bool { return clk.Waiters() == n })
}

func TestForwardSilentCoordinatorEndsWaitAndIsPassedOver(t *testing.T) {
	clk := clock.NewFake(t0)
	net := &fakeForwardNet{silent: map[string]bool{"a": true}}
	f := newTestForwarder(t, clk, net)
	s := &scriptedSend{block: map[string]bool{"a": true}, outcomes: map[string]Delivery{"b": Answered},
		started: make(chan string, 4)}

	res := forwardAsync(f, s)
	<-s.started
	waitTimers(t, clk, 1)
	clk.Advance(50 * time.Millisecond) // the ping goes out, and is not answered
	waitTimers(t, clk, 1)              // the ping's own deadline
	clk.Advance(50 * time.Millisecond) // SilenceAfter: the wait ends
	r := <-res
	if r.node != "a" || !isIndeterminateFrom("a")(r.err) {
		t.Fatalf("got (%q, %v); want an indeterminate error naming a", r.node, r.err)
	}
	if got := f.Suspects(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("suspects %v, want [a]", got)
	}

	// The next write passes a over without sending it anything.
	node, err := f.Forward(context.Background(), "put", primariesABC, 0, s.send)
	if node != "b" || err != nil {
		t.Fatalf("next write: got (%q, %v), want b", node, err)
	}
	<-s.started
	if got := s.sends(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("sends %v, want [a b]: a silent coordinator is never sent a write twice", got)
	}
}

func TestForwardSlowCoordinatorThatAnswersPingsIsWaitedFor(t *testing.T) {
	clk := clock.NewFake(t0)
	net := &fakeForwardNet{silent: map[string]bool{}}
	f := newTestForwarder(t, clk, net)
	release := make(chan struct{})
	started := make(chan string, 1)
	slow := func(ctx context.Context, node string) (Delivery, error) {
		started <- node
		select {
		case <-release:
			return Answered, nil
		case <-ctx.Done():
			return Unknown, ctx.Err()
		}
	}
	ch := make(chan forwardResult, 1)
	go func() {
		node, err := f.Forward(context.Background(), "put", primariesABC, 0, slow)
		ch <- forwardResult{node, err}
	}()
	<-started
	waitTimers(t, clk, 1)
	clk.Advance(50 * time.Millisecond) // the ping goes out, and is answered
	waitTimers(t, clk, 0)
	clk.Advance(time.Second)
	close(release)
	if r := <-ch; r.node != "a" || r.err != nil {
		t.Fatalf("got (%q, %v), want a's answer", r.node, r.err)
	}
	if got := f.Suspects(); len(got) != 0 {
		t.Fatalf("suspects %v, want none: a answered its ping", got)
	}
}

func TestForwardSuspicionExpiresAfterAPing(t *testing.T) {
	clk := clock.NewFake(t0)
	net := &fakeForwardNet{silent: map[string]bool{"a": true}}
	f := newTestForwarder(t, clk, net)
	f.markSuspect("a")

	// Still suspect: passed over.
	s := &scriptedSend{outcomes: map[string]Delivery{"a": Answered, "b": Answered}}
	if node, _ := f.Forward(context.Background(), "put", primariesABC, 0, s.send); node != "b" {
		t.Fatalf("got %q while a is suspect, want b", node)
	}
	// Expired, and a answers its ping: a coordinates again.
	clk.Advance(time.Second)
	net.setSilent("a", false)
	if node, _ := f.Forward(context.Background(), "put", primariesABC, 0, s.send); node != "a" {
		t.Fatalf("got %q after a answered a ping, want a", node)
	}
	if got := f.Suspects(); len(got) != 0 {
		t.Fatalf("suspects %v, want none", got)
	}
}

func TestCoordinatorOrderRotatesByPartition(t *testing.T) {
	for p, want := range [][]string{{"a", "b", "c"}, {"b", "c", "a"}, {"c", "a", "b"}, {"a", "b", "c"}} {
		if got := CoordinatorOrder(primariesABC, uint32(p)); !slices.Equal(got, want) {
			t.Errorf("partition %d: got %v, want %v", p, got, want)
		}
	}
}
