// Package transport carries Chorus traffic over gRPC: Server serves a
// node's KV and Internode services, Pool keeps one connection per address,
// and Peers batches a coordinator's Replicate and Fetch calls per node. The
// wire types live in transport/pb.
//
// # Guarantees
//
// Deadlines. Every RPC that Peers makes has a deadline: the latest deadline
// among the calls it carries, capped at PeersConfig.CallTimeout (5 s by
// default). A caller never waits beyond its own context: when ctx ends, the
// call returns ctx.Err() (wrapped) at once, and the answer that may come
// later lands in a channel buffered for it and is dropped, so no goroutine
// ever blocks on a caller that left. Calls whose context has ended before
// their batch is formed are not sent.
//
// Batching. Per peer node and per kind (Replicate, Fetch), at most
// PeersConfig.MaxInFlight RPCs (4) are in flight. A call made while a slot
// is free leaves at once, alone: there is no timer and no added latency at
// low load. Calls made while every slot is busy queue, and a finishing RPC
// takes the queue as its next batch, capped at MaxBatch items (256) and
// MaxBatchBytes (4 MiB, estimated; a single larger item goes alone). So
// batches grow with load, and one message and one storage commit on the
// receiver serve many client requests. Answers come back item by item, in
// order: each caller gets its own ack or error.
//
// Errors. An item the remote node failed (or a malformed reply) yields an
// error wrapping ErrRemote; an RPC that failed as a whole fails every item
// in it with an error wrapping ErrUnreachable and the gRPC status (use
// status.Code); calls after, or cut short by, Close wrap ErrClosed. A
// Replicate that failed may still have been applied: the merge is
// idempotent, so retrying is safe. A Fetch from a node still receiving the
// key's partition returns its set together with an *IncompleteError
// (Partial reports true): the data is real but may lack writes, so it
// must not count toward a read quorum.
//
// Digests. FetchDigest asks for the digest of a node's set
// (vclock.Set.Digest: the xxhash of its canonical encoding, 0 when the
// node has none) instead of the set, so a read can take the data from one
// replica and digests from the others. Digest items are Fetch items with
// digest_only set: they share the Fetch lane, batches and limits with data
// items, and a node still receiving the partition answers its digest with
// an *IncompleteError as it would its set. A node that predates digest
// reads ignores digest_only and answers with its set; FetchDigest then
// digests that set, so mixed versions read correctly, at the old cost.
//
// Message limits. Server and Pool accept and send messages up to 16 MiB by
// default (ServerConfig / PoolConfig MaxRecvMsgSize, MaxSendMsgSize), four
// times the default batch byte cap. A message over the limit fails that RPC
// with codes.ResourceExhausted; the connection and server keep working.
//
// Keepalive. Pool pings idle connections every 30 s and permits pings
// without streams; Server tolerates pings every 10 s or more and pings idle
// clients after 1 min. Dead connections are thus found without traffic.
//
// Goroutines. Server owns no goroutine besides gRPC's own and the one
// Close uses to bound GracefulStop by StopTimeout; Close returns after
// every Serve call did. Peers runs one goroutine per in-flight batch,
// counted by a WaitGroup; Close fails queued calls with ErrClosed,
// cancels in-flight RPCs and waits for those goroutines. Pool owns none
// (gRPC's connection goroutines end when Close or Forget closes the
// connection). All types are safe for concurrent use and every Close is
// idempotent.
package transport
