package memnet

import (
	"context"
	"math/rand"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/transport/pb"
)

// Link is a directed link between two nodes: messages from From to To.
type Link struct {
	From, To string
}

// endpoint is one registration of a node. gen tells registrations apart,
// so that a response computed by a node that has since gone down (or
// restarted) is lost, as it would be with a real crash.
type endpoint struct {
	kv  pb.KVServer
	in  pb.InternodeServer
	gen uint64
}

// running is one handler invocation in flight.
type running struct {
	node   string
	cancel context.CancelFunc
}

// Network is an in-process network of Chorus nodes. The zero value is not
// usable; call New. All methods are safe for concurrent use.
type Network struct {
	cfg  Config
	done chan struct{} // closed by Close: wakes every blocked call
	wg   sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	rng       *rand.Rand
	nodes     map[string]endpoint
	gen       uint64
	group     map[string]int // partition group per named node; absent = 0
	drop      map[Link]float64
	delay     map[Link]time.Duration
	intercept func(from, to string, msg proto.Message) error
	answer    func(from, to string, req, resp proto.Message, err error) error
	paused    map[string]chan struct{} // closed by Resume
	handlers  map[uint64]running
	nextCall  uint64
	stats     map[Link]*LinkStats
}

// New returns an empty network. It panics if cfg is invalid (see
// Config.Validate): memnet is a test harness, and a bad config is a bug in
// the test.
func New(cfg Config) *Network {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &Network{
		cfg:      cfg,
		done:     make(chan struct{}),
		rng:      rand.New(rand.NewSource(cfg.Seed)),
		nodes:    make(map[string]endpoint),
		group:    make(map[string]int),
		drop:     make(map[Link]float64),
		delay:    make(map[Link]time.Duration),
		handlers: make(map[uint64]running),
		paused:   make(map[string]chan struct{}),
		stats:    make(map[Link]*LinkStats),
	}
}

// Register makes node reachable, served by kv and in; either may be nil,
// and calls to a missing service fail with codes.Unimplemented.
// Registering a node again replaces its services, as a restart does:
// handlers still running for the old registration have their contexts
// cancelled and their responses are lost.
func (n *Network) Register(node string, kv pb.KVServer, in pb.InternodeServer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cancelHandlersLocked(node)
	n.gen++
	n.nodes[node] = endpoint{kv: kv, in: in, gen: n.gen}
}

// Unregister takes node down: requests to it are lost (codes.Unavailable,
// or blocking under Config.Blackhole), handlers running on it have their
// contexts cancelled, and their responses are lost. Calls node itself
// makes are still sent, so a test decides when a stopped node's
// goroutines are gone.
func (n *Network) Unregister(node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cancelHandlersLocked(node)
	delete(n.nodes, node)
}

func (n *Network) cancelHandlersLocked(node string) {
	for _, r := range n.handlers {
		if r.node == node {
			r.cancel()
		}
	}
}

// Internode returns a client for node to's Internode service, as seen
// from node from. The client is cheap and may be kept or made per call;
// grpc.CallOptions are accepted and ignored.
func (n *Network) Internode(from, to string) pb.InternodeClient {
	return internodeClient{n: n, from: from, to: to}
}

// KV returns a client for node to's KV service, as seen from from, which
// need not be a registered node (a test's client, say). grpc.CallOptions
// are accepted and ignored.
func (n *Network) KV(from, to string) pb.KVClient {
	return kvClient{n: n, from: from, to: to}
}

// Dialer returns a function that gives node from's Internode client for
// any node. It is assignable to transport.Dialer and never fails.
func (n *Network) Dialer(from string) func(node string) (pb.InternodeClient, error) {
	return func(node string) (pb.InternodeClient, error) {
		return n.Internode(from, node), nil
	}
}

// Partition splits the network: nodes in different groups cannot
// exchange messages in either direction. Nodes named in no group form one
// more group together, so Partition([]string{"a"}) isolates a from
// everyone, including nodes registered later. A node named in several
// groups belongs to the last. Each call replaces the previous partition;
// Partition() with no groups removes it. Messages already past the link
// check (delayed, or being handled) are not affected.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.group)
	for i, g := range groups {
		for _, node := range g {
			n.group[node] = i + 1
		}
	}
}

// Heal removes the partition and every drop rate and delay. Registrations
// and the interceptor stay.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.group)
	clear(n.drop)
	clear(n.delay)
}

// SetDrop sets the probability that a message on the directed link
// from -> to is lost, requests and responses alike. p <= 0 removes the
// drop rate; p >= 1 loses every message without using the random source.
func (n *Network) SetDrop(from, to string, p float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p <= 0 {
		delete(n.drop, Link{from, to})
		return
	}
	n.drop[Link{from, to}] = p
}

// SetDelay makes every message on the directed link from -> to wait d
// before it arrives; a round trip pays the delays of both directions.
// d <= 0 removes the delay. A call whose context ends while its message
// waits returns at once with the context's status.
func (n *Network) SetDelay(from, to string, d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if d <= 0 {
		delete(n.delay, Link{from, to})
		return
	}
	n.delay[Link{from, to}] = d
}

// Intercept installs f, called for every request that reaches a
// registered node, after the link's faults and delay and just before the
// handler runs; msg is the receiver's copy. A non-nil error fails the call
// with that error as it is, and the handler does not run. f may modify
// msg to corrupt what the handler sees, but must not keep it after
// returning. f runs on the caller's goroutine without network locks held,
// so it may call the network's methods; it must be safe for concurrent
// use. A nil f removes the interceptor.
func (n *Network) Intercept(f func(from, to string, msg proto.Message) error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.intercept = f
}

// InterceptAnswer installs f, called on the receiver's side for every
// request a handler ran for, with the request, the handler's response (nil
// if it failed) and its error, before the answer crosses back. A non-nil
// error from f replaces the answer: the caller gets that error although
// the handler's effects stand, as when a connection breaks after the
// receiver acted. f runs on a goroutine the network owns, without network
// locks held; it must be safe for concurrent use and must not keep the
// messages after returning. A nil f removes it.
func (n *Network) InterceptAnswer(f func(from, to string, req, resp proto.Message, err error) error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.answer = f
}

// Pause freezes node as SIGSTOP freezes a process: it stays registered
// and reachable (a failure detector would not notice yet), but requests
// that reach it wait unhandled, and its own calls and answers wait to be
// sent, until Resume. A request held by a pause is handled after Resume
// even if its caller gave up meanwhile, as a stopped process reads its
// socket when it continues. Pausing a paused node does nothing.
func (n *Network) Pause(node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.paused[node]; !ok {
		n.paused[node] = make(chan struct{})
	}
}

// Resume lets a paused node go on: held requests are handled, held calls
// and answers are sent.
func (n *Network) Resume(node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ch, ok := n.paused[node]; ok {
		close(ch)
		delete(n.paused, node)
	}
}

// pausedCh returns the channel Resume closes if node is paused, else nil.
func (n *Network) pausedCh(node string) chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused[node]
}

// Close fails every later call, and every call still in flight, with
// codes.Unavailable, cancels the contexts of running handlers and waits
// for them to return. It waits for nothing else and is idempotent.
func (n *Network) Close() error {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.done)
		for _, r := range n.handlers {
			r.cancel()
		}
	}
	n.mu.Unlock()
	n.wg.Wait()
	return nil
}
