package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/chorusdb/chorus/gossip"
	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/hints"
	"github.com/chorusdb/chorus/repair"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/sourceaddr"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/storage/vfs"
	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
)

// Node is one running Chorus node: storage, membership, hinted handoff,
// the coordinator, and the gRPC and HTTP servers. Close stops it.
type Node struct {
	cfg     Config
	log     *slog.Logger
	logAs   func(node string) // names the node in every log line (logging.go)
	started time.Time
	faults  *faults // nil unless Config.FaultInjection

	db      *storage.DB
	members membership
	gossip  *gossip.Membership // nil on the in-memory network
	hints   *hints.Queue
	coord   *replica.Coordinator
	repair  *repair.Scheduler // nil with NoAntiEntropy
	handoff *handoff.Manager
	// coordReady is coord, published for goroutines started before it
	// existed (hint delivery).
	coordReady atomic.Pointer[replica.Coordinator]
	// repairReady is repair, published for the handoff workers, which
	// start before it.
	repairReady atomic.Pointer[repair.Scheduler]
	collector   *repair.Collector
	backup      *backupService
	peers       *transport.Peers
	pool        *transport.Pool
	kv          *kvService
	metrics     *metrics
	legs        legRecorder
	ui          *nodeUI // the dashboard's rates and peer client (ui.go)

	// ready is set once the node knows the ring and who is up (ready.go);
	// kvGate is kv behind it, as every client route serves it.
	ready  atomic.Bool
	kvGate readyGate

	grpcSrv  *transport.Server
	peerSrv  *transport.Server // nil when peers are served on grpcLis
	httpSrv  *http.Server
	grpcLis  net.Listener
	peerLis  net.Listener
	httpLis  net.Listener
	addrs    Addrs
	stopRing func()
	ringMu   sync.Mutex // serializes refreshRing
	ringHash uint64     // of the records the coordinator's ring was built from

	// leavers are the nodes out of the ring that may hold partitions
	// whole (updateLeavers); under ringMu.
	leavers map[uint32][]string

	// life ends when Close begins; background work started by requests
	// (a leave) runs under it.
	life    context.Context
	endLife context.CancelFunc
	leaving atomic.Bool
	left    chan struct{}
	leave   leaveClock

	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	// closers run in reverse order of their registration on Close.
	closers []func() error

	// disk is the state of storage's garbage collection hook (disk.go).
	disk diskState
}

// Addrs are the addresses a node serves on, as others reach it.
type Addrs struct {
	HTTP   string `json:"http"`
	GRPC   string `json:"grpc"`
	Peer   string `json:"peer"` // where other nodes reach it; GRPC when it has no peer listener
	Gossip string `json:"gossip"`
}

// Start opens the node's storage, starts serving, and joins the cluster
// (or bootstraps one when Config.Join is empty). It returns once the node
// is a ring member and serves client requests, or with an error (having
// released everything) if that fails within Config.JoinTimeout or ctx
// ends. While it joins, client requests are answered "node starting".
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log, logAs := nodeLogger(cfg.Logger, cfg.NodeID)
	cfg.Logger = log
	n := &Node{cfg: cfg, log: log, logAs: logAs, started: time.Now(), left: make(chan struct{})}
	if cfg.FaultInjection {
		n.faults = newFaults()
		n.log.Warn("fault injection is on: an admin may offset this node's clock and fail its disk (/v1/faults)")
	}
	n.life, n.endLife = context.WithCancel(context.Background())
	if err := n.start(ctx); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) start(ctx context.Context) error {
	if err := n.openStorage(); err != nil {
		return err
	}
	if err := n.checkDowntime(); err != nil {
		return err
	}
	if err := n.markAlive(); err != nil {
		return err
	}
	if err := n.listen(); err != nil {
		return err
	}
	if err := n.startMembership(); err != nil {
		return err
	}
	n.logAs(n.ID()) // known now: given, read from the data directory, or new
	if err := n.startReplication(); err != nil {
		return err
	}
	n.serve()
	n.watchRing()
	n.startCleanup()
	if n.gossip == nil {
		n.ready.Store(true) // the in-memory network's membership is fixed and known
		return nil
	}
	jctx, cancel := context.WithCancel(ctx)
	if n.cfg.JoinTimeout > 0 {
		jctx, cancel = context.WithTimeout(ctx, n.cfg.JoinTimeout)
	}
	defer cancel()
	if err := joinCluster(jctx, n.gossip, n.cfg.Join); err != nil {
		return fmt.Errorf("server: join %v: %w", n.cfg.Join, err)
	}
	// The join merged the seed's view, liveness included; the ring watcher
	// may not have run since, so the ring is brought up to date here.
	n.refreshRing()
	if n.coord.Ring() == nil {
		return errors.New("server: joined, but no ring can be built from the members")
	}
	if len(n.cfg.Join) == 0 {
		n.rejoinRemembered()
	}
	n.ready.Store(true)
	n.log.Info("node ready", "http", n.addrs.HTTP, "grpc", n.addrs.GRPC,
		"gossip", n.addrs.Gossip, "ring_members", len(n.members.Records()))
	return nil
}

func (n *Node) onClose(f func() error) { n.closers = append(n.closers, f) }

func (n *Node) openStorage() error {
	opts := storage.DefaultOptions()
	opts.InMemory = n.cfg.InMemory
	opts.Logger = n.log
	opts.NoTrees = n.cfg.NoAntiEntropy
	if n.faults != nil && !n.cfg.InMemory {
		opts.CommitLogFS = vfs.Inject(vfs.Default, n.faults)
	}
	n.gcOptions(&opts)
	db, err := storage.Open(n.cfg.DataDir, opts)
	if err != nil {
		return fmt.Errorf("server: open storage: %w", err)
	}
	n.db = db
	n.onClose(db.Close)
	return nil
}

// listen binds the gRPC and HTTP listeners first, so that ports chosen by
// the system are known before they are advertised.
func (n *Node) listen() error {
	if n.cfg.MemNet != nil {
		return nil
	}
	var err error
	if n.grpcLis, err = net.Listen("tcp", n.cfg.GRPCAddr); err != nil {
		return fmt.Errorf("server: listen grpc: %w", err)
	}
	n.onClose(func() error { _ = n.grpcLis.Close(); return nil })
	if n.httpLis, err = net.Listen("tcp", n.cfg.HTTPAddr); err != nil {
		return fmt.Errorf("server: listen http: %w", err)
	}
	n.onClose(func() error { _ = n.httpLis.Close(); return nil })
	n.addrs.GRPC = n.advertised(n.grpcLis.Addr())
	n.addrs.HTTP = n.advertised(n.httpLis.Addr())
	n.addrs.Peer = n.addrs.GRPC
	if n.cfg.PeerAddr != "" {
		if n.peerLis, err = net.Listen("tcp", n.cfg.PeerAddr); err != nil {
			return fmt.Errorf("server: listen peer: %w", err)
		}
		n.onClose(func() error { _ = n.peerLis.Close(); return nil })
		n.addrs.Peer = n.advertised(n.peerLis.Addr())
	}
	if n.cfg.TLS == nil {
		n.log.Warn(insecureWarning)
	}
	return nil
}

// peerListenAddr is the local address of the listener peers reach this
// node on: the peer listener, or the gRPC one that serves them without it.
func (n *Node) peerListenAddr() string {
	if n.peerLis != nil {
		return n.peerLis.Addr().String()
	}
	return n.grpcLis.Addr().String()
}

// advertised returns the address others use for a listener's address.
func (n *Node) advertised(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if n.cfg.Advertise != "" {
		host = n.cfg.Advertise
	}
	return net.JoinHostPort(host, port)
}

func (n *Node) startMembership() error {
	if n.cfg.MemNet != nil {
		mn := n.cfg.MemNet
		n.members = newStaticMembership(n.cfg.NodeID, n.cfg.Members, func(node string) bool {
			return mn.Reachable(n.cfg.NodeID, node)
		})
		return nil
	}
	host, portText, _ := net.SplitHostPort(n.cfg.GossipAddr)
	port, _ := strconv.Atoi(portText)
	gc := gossip.DefaultConfig()
	gc.NodeID, gc.Zone = n.cfg.NodeID, n.cfg.Zone
	gc.BindAddr, gc.BindPort = host, port
	gc.AdvertiseAddr = n.cfg.Advertise
	gc.GRPCAddr, gc.HTTPAddr, gc.PeerAddr = n.addrs.GRPC, n.addrs.HTTP, n.addrs.Peer
	gc.SecretKey = n.cfg.GossipKey
	gc.Store = metaStore{n.db, metaStateName}
	gc.PeerStore = metaStore{n.db, metaPeerBookName}
	gc.Logger = n.log
	g, err := gossip.New(gc)
	if err != nil {
		return fmt.Errorf("server: start gossip: %w", err)
	}
	n.gossip = g
	n.members = gossipMembership{g}
	n.addrs.Gossip = g.GossipAddr()
	n.onClose(g.Close)
	return nil
}

// startReplication wires the internode transport, the hint queue and the
// coordinator.
func (n *Node) startReplication() error {
	self := n.members.ID()
	var dialIn internodeDialer
	var dialKV kvDialer
	var ready func(node string) bool
	if mn := n.cfg.MemNet; mn != nil {
		dialIn = func(node string) (pb.InternodeClient, error) { return mn.Internode(self, node), nil }
		dialKV = func(node string) (pb.KVClient, error) { return mn.KV(self, node), nil }
		ready = func(node string) bool { return mn.Reachable(self, node) }
	} else {
		pc := transport.DefaultPoolConfig()
		if n.cfg.TLS != nil {
			pc.TLSFor = n.cfg.TLS.PeerDialTo
		}
		// Peers see this node's connections come from the address it
		// serves them on (rules naming a node by its address, such as the
		// nemesis's partitions, then cut both directions).
		pc.SourceIP = sourceaddr.For(n.peerListenAddr())
		pool, err := transport.NewPool(pc)
		if err != nil {
			return err
		}
		n.pool = pool
		n.onClose(pool.Close)
		dialIn = func(node string) (pb.InternodeClient, error) {
			addr, err := n.peerAddrOf(node)
			if err != nil {
				return nil, err
			}
			return n.pool.Internode(addr)
		}
		dialKV = func(node string) (pb.KVClient, error) {
			addr, err := n.peerAddrOf(node)
			if err != nil {
				return nil, err
			}
			return n.pool.KV(addr)
		}
		ready = func(node string) bool {
			addr, err := n.peerAddrOf(node)
			return err == nil && n.pool.Ready(addr)
		}
	}
	pc := transport.DefaultPeersConfig()
	pc.OnLegs = n.legs.note
	peers, err := transport.NewPeers(self, transport.Dialer(dialIn), pc)
	if err != nil {
		return err
	}
	n.peers = peers
	n.onClose(peers.Close)
	if err := n.startHandoff(dialIn); err != nil {
		return err
	}
	hcfg := n.cfg.Hints
	hcfg.Logger = n.log.With("component", "hints")
	if n.faults != nil && hcfg.Clock == nil {
		hcfg.Clock = n.faults // hint age is wall time
	}
	router, err := hints.NewRouter(hints.RouterConfig{Self: self, Ring: n.hintRing, Members: hintMembers{n.members},
		Local: n.db, Send: hintSender{self: self, dial: dialIn}})
	if err != nil {
		return fmt.Errorf("server: start hints: %w", err)
	}
	hq, err := hints.New(n.db, router, router, hcfg)
	if err != nil {
		return fmt.Errorf("server: start hints: %w", err)
	}
	n.hints = hq
	n.onClose(hq.Close)
	cc := replica.DefaultConfig()
	cc.Self, cc.Store, cc.Transport, cc.Liveness = self, localStore{db: n.db, hints: hq, handoff: n.handoff, legs: &n.legs}, peers, n.members
	cc.Logger = n.log
	if n.faults != nil {
		cc.Clock = n.faults // write and tombstone timestamps are wall time
	}
	coord, err := replica.NewCoordinator(cc)
	if err != nil {
		return err
	}
	n.coord = coord
	n.coordReady.Store(coord)
	n.onClose(coord.Close)
	n.metrics = newMetrics(metricsSources{Hints: hq.Stats, Coordinator: coord.Stats})
	n.startDiskMetrics()
	fc := replica.DefaultForwarderConfig()
	fc.Self, fc.Liveness, fc.Logger = self, n.members, n.log
	fc.Transport = forwardNet{self: self, dial: dialIn, ready: ready}
	fc.SilenceAfter = cc.FallbackAfter
	forwarder, err := replica.NewForwarder(fc)
	if err != nil {
		return err
	}
	n.kv = &kvService{self: self, coord: coord, members: n.members, dial: dialKV, forwarder: forwarder,
		defaults: n.cfg.Defaults, metrics: n.metrics, validKey: n.db.CheckKey}
	n.kvGate = readyGate{kv: n.kv, ready: &n.ready}
	if err := n.startBackup(dialIn); err != nil {
		return err
	}
	if err := n.startCollector(dialIn); err != nil {
		return err
	}
	return n.startRepair(dialIn)
}

// hintRing is the ring hint routing uses: the coordinator's, once both
// exist (hint delivery starts before the coordinator does).
func (n *Node) hintRing() hints.Ring {
	if c := n.coordReady.Load(); c != nil {
		if r := c.Ring(); r != nil {
			return r
		}
	}
	return nil
}

// peerAddrOf returns where node serves other nodes, from its ring record.
func (n *Node) peerAddrOf(node string) (string, error) {
	for _, r := range n.members.Records() {
		if r.ID == node && r.PeerAddrOf() != "" {
			return r.PeerAddrOf(), nil
		}
	}
	return "", fmt.Errorf("server: no address known for node %q", node)
}

// serve starts the gRPC and HTTP servers (or registers the handlers on
// the in-memory network).
func (n *Node) serve() {
	n.ui = newNodeUI(n.metrics, n.cfg.TLS, n.ID(), n.cfg.GossipKey)
	n.onClose(n.ui.close)
	in := &internode{db: n.db, hints: n.hints, handoff: n.handoff}
	if mn := n.cfg.MemNet; mn != nil {
		mn.Register(n.cfg.NodeID, n.kvGate, in)
		n.onClose(func() error { mn.Unregister(n.cfg.NodeID); return nil })
		return
	}
	var clientTLS, peerTLS *tls.Config
	if n.cfg.TLS != nil {
		clientTLS, peerTLS = n.cfg.TLS.ClientListener(), n.cfg.TLS.PeerListener()
	}
	// The client listener serves internode RPCs too only without a peer
	// listener (plaintext, see Config.PeerAddr).
	clientIn := pb.InternodeServer(in)
	if n.peerLis != nil {
		clientIn = nil
	}
	var clientAuth []grpc.ServerOption
	if n.cfg.Auth != nil { // the client listener only: peers authenticate by mutual TLS with the node role
		clientAuth = authServerOptions(n.cfg.Auth, n.metrics, n.log)
	}
	n.grpcSrv = n.startGRPC("grpc", n.grpcLis, n.kvGate, clientIn, clientTLS, clientAuth...)
	if n.peerLis != nil {
		n.peerSrv = n.startGRPC("peer", n.peerLis, n.kvGate, in, peerTLS)
	}
	n.wg.Add(1)
	n.httpSrv = newHTTPServer(newHTTPHandler(n.kvGate, n.status, n.metrics, httpConfig{Logger: n.log, Ready: n.ready.Load,
		Readiness: n.Readiness,
		Views: map[string]func(context.Context) any{
			"/v1/anti-entropy": func(context.Context) any { return n.AntiEntropyPairs() },
			"/v1/transfers":    func(context.Context) any { return n.Transfers() },
			"/v1/legs":         func(context.Context) any { return LegsView{Node: n.ID(), LegSamples: n.Legs()} },
		},
		Admin:   nodeAdmin{n},
		Faults:  n.faultsHandler(),
		Replica: n.replicaCopy,
		Plans:   &planner{n: n},
		Auth:    n.cfg.Auth, // every route but /healthz, /readyz (and /metrics with OpenMetrics)
		UI: &uiRoutes{summary: n.uiSummaryView, state: n.uiStateView,
			peer: uiPeerCheck(uiPeerKey(n.cfg.GossipKey), n.ID)},

		Backup: n.backup, // backup and restore, behind the admin role
	}), n.cfg.HTTP, n.log)
	go func() {
		defer n.wg.Done()
		if err := n.httpSrv.Serve(tlsListener(n.httpLis, clientTLS)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http server stopped", "err", err)
		}
	}()
}

// startGRPC serves kv and in (either may be nil) on lis, secured by
// tlsCfg when it is set, until Close.
func (n *Node) startGRPC(name string, lis net.Listener, kv pb.KVServer, in pb.InternodeServer, tlsCfg *tls.Config, opts ...grpc.ServerOption) *transport.Server {
	sc := transport.DefaultServerConfig()
	sc.TLS, sc.Options = tlsCfg, opts
	srv, err := transport.NewServer(kv, in, sc)
	if err != nil { // only a bad config, which DefaultServerConfig is not
		panic(err)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := srv.Serve(lis); err != nil {
			n.log.Error(name+" server stopped", "err", err)
		}
	}()
	return srv
}

// watchRing keeps the coordinator's ring in step with the ring records,
// and tells the hint queue and anti-entropy when membership changes.
func (n *Node) watchRing() {
	ch, cancel := n.members.Subscribe()
	n.stopRing = cancel
	n.refreshRing()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for range ch {
			n.refreshRing()
			n.notifyHints()
			// A peer back up or a ring change adds pairs to walk; an idle
			// anti-entropy walk would see them only after its pause.
			if n.repair != nil {
				n.repair.Notify()
			}
		}
	}()
}

func (n *Node) refreshRing() {
	n.ringMu.Lock()
	defer n.ringMu.Unlock()
	// Liveness changes notify too; the ring (milliseconds to build) is
	// rebuilt only when the records changed. The hash is read before the
	// records, so a change between the two only causes one more rebuild.
	hash := n.members.RingHash()
	if n.coord.Ring() != nil && hash == n.ringHash {
		return
	}
	recs := n.members.Records()
	if !slices.ContainsFunc(recs, func(r gossip.MemberRecord) bool { return r.Placed && r.Removed == 0 }) {
		return // not joined yet: no ring to route by
	}
	r, err := buildRing(recs, n.cfg.Ring)
	if err != nil {
		n.log.Error("ring not updated", "err", err)
		return
	}
	n.ringHash = hash
	prev := n.coord.Ring()
	n.updateLeavers(prev, r) // before the ring: reads by it may need them at once
	n.coord.SetRing(r)
	n.updateHandoff(prev, r, recs)
}

func (n *Node) notifyHints() {
	for _, r := range n.members.Records() {
		if r.ID != n.members.ID() && n.hints.Pending(r.ID) > 0 && n.members.Alive(r.ID) {
			n.hints.Notify(r.ID)
		}
	}
}

// ID returns the node's ID.
func (n *Node) ID() string { return n.members.ID() }

// Addrs returns where the node serves.
func (n *Node) Addrs() Addrs { return n.addrs }

// KV returns the node's client API, as the gRPC KV service serves it
// (answering Unavailable until Start has returned).
func (n *Node) KV() pb.KVServer { return n.kvGate }

// HintsPending returns the hints this node holds for other nodes.
func (n *Node) HintsPending() int { return n.hints.Stats().Queued }

// NotifyHints asks the hint queue to try delivering to every live node
// now, rather than at its next retry.
func (n *Node) NotifyHints() { n.notifyHints() }

// Storage returns the node's storage, for tests and tools that inspect
// replicas directly.
func (n *Node) Storage() *storage.DB { return n.db }

// Close stops intake (HTTP and gRPC stop accepting), lets in-flight
// requests finish for up to Config.ShutdownTimeout, then stops the
// coordinator, the hint queue, gossip and storage, in that order, and
// waits for every goroutine. It is idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
		defer cancel()
		var errs []error
		if n.httpSrv != nil {
			if err := n.httpSrv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("server: http shutdown: %w", err))
			}
		}
		if n.grpcSrv != nil {
			errs = append(errs, n.grpcSrv.Close())
		}
		if n.peerSrv != nil {
			errs = append(errs, n.peerSrv.Close())
		}
		if n.stopRing != nil {
			n.stopRing()
		}
		n.endLife()
		n.wg.Wait() // servers and the ring watcher
		for i := len(n.closers) - 1; i >= 0; i-- {
			errs = append(errs, n.closers[i]())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// Run starts a node and serves until ctx ends, then closes it.
func Run(ctx context.Context, cfg Config) error {
	n, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-n.Left():
	}
	return n.Close()
}
