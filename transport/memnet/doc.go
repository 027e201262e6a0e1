// Package memnet is an in-process network for tests of a whole Chorus
// cluster. Each node registers its production gRPC service
// implementations (pb.KVServer, pb.InternodeServer) with Register, and
// other nodes talk to it through pb.KVClient and pb.InternodeClient values
// for a directed (from, to) link, obtained from KV, Internode or Dialer.
// Faults are injected per directed link: Partition, Unregister, SetDrop,
// SetDelay and Intercept, undone by Heal and Register; per node, Pause
// freezes a node as SIGSTOP does (connected and silent) until Resume; and
// InterceptAnswer fails a call's answer after its handler ran, as a
// connection that breaks after the receiver acted does. A lost request
// carries the ErrorInfo of pb.ReasonNotSent, so that callers can tell a
// request that never left from one that may have been handled.
//
//	net := memnet.New(memnet.DefaultConfig())
//	defer net.Close()
//	net.Register("a", kvA, inA)
//	net.Register("b", kvB, inB)
//	net.Partition([]string{"a"}) // a alone; b and everyone else together
//	_, err := net.Internode("a", "b").Fetch(ctx, batch) // codes.Unavailable
//
// # Guarantees
//
// Copies. Every request and every response is encoded with proto.Marshal
// and decoded into a fresh message with proto.Unmarshal, so the real codec
// runs and caller and handler never share memory: each may modify its
// message during or after the call. Messages larger than
// Config.MaxMsgSize fail with codes.ResourceExhausted.
//
// A call's path. The request crosses the link from -> to, then the
// interceptor runs, then the handler, then the response (or the handler's
// error) crosses to -> from. A message is lost when the network is
// partitioned between the two nodes, when SetDrop's draw says so, when a
// request's receiver is not registered, or when a response's sender went
// down or restarted after it took the request. Loss is decided as the
// message enters the link; a delayed request is lost too if its receiver
// has gone by the time it arrives. A lost message fails the call with
// codes.Unavailable ("memnet: a -> b: request partitioned"), or under
// Config.Blackhole blocks it until ctx ends. A lost response means the
// handler ran and its side effects stand though the caller sees an error,
// as on a real network. A link's delay is paid by every message crossing
// it, so a round trip pays both directions.
//
// Contexts. Every call returns once its context ends, with the status a
// gRPC client would give (codes.DeadlineExceeded or codes.Canceled),
// whether the message is waiting out a delay, blackholed or being
// handled; a call whose context has already ended sends nothing. The
// handler's context derives from the caller's: the deadline, values and
// cancellation carry over, and outgoing grpc metadata becomes incoming
// metadata. It is also cancelled when its node is unregistered or
// re-registered, and by Close.
//
// Errors. Handler errors reach the caller as they are, without the
// conversion to codes.Unknown that gRPC applies to plain errors; so do
// the interceptor's. A missing service on a registered node fails with
// codes.Unimplemented. Internode.Stream is not simulated: it fails with
// codes.Unimplemented, as on a node of an earlier version, and
// transport.Peers sends unary calls instead. Errors made by memnet are
// grpc status errors whose messages start "memnet: ".
//
// Determinism. Drops come from one rand.Rand seeded with Config.Seed and
// drawn under the network's mutex, only on links whose drop rate is
// strictly between 0 and 1. The same seed and the same order of messages
// give the same losses; concurrent senders make the order, and so the
// outcome, depend on scheduling.
//
// Goroutines. Each handler runs on a goroutine the network owns, so that
// a caller can return when its context ends even if the handler does not.
// Close fails every later and in-flight call with codes.Unavailable,
// cancels the handlers' contexts and waits for the handlers to return;
// a handler that ignores its context therefore delays Close. Nothing else
// is started. All methods are safe for concurrent use.
package memnet
