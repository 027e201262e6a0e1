// Package transport carries Chorus traffic over gRPC: Server serves a
// node's KV and Internode services, Pool keeps one connection per address,
// and Peers batches a coordinator's Replicate and Fetch calls per node. The
// wire types live in transport/pb.
//
// # Guarantees
//
// Streams. Peers sends the Replicate and Fetch batches to a node on one
// long-lived bidirectional stream (Internode.Stream), both kinds on it, so
// that a batch costs one message each way rather than a whole RPC
// (headers, trailers, their flushes and a server goroutine); gRPC
// coalesces the messages queued meanwhile into one write. Each batch carries
// an id, and its reply may overtake an earlier batch's. The stream opens
// with the first batch to the node and stays open; a broken one is
// replaced by the next batch. A node that answers Stream with
// codes.Unimplemented (an earlier version; memnet) gets unary Replicate
// and Fetch RPCs instead for PeersConfig.StreamRetry (1 min), then Peers
// tries a stream again; Server keeps serving the unary RPCs for such
// senders. A single item over MaxBatchBytes always goes as a unary RPC,
// since a message over gRPC's size limit ends a stream with every batch
// on it.
//
// Deadlines. Every batch that Peers sends has a deadline: the latest
// deadline among the calls it carries, capped at PeersConfig.CallTimeout
// (5 s by default). On the stream it travels as the time remaining (not
// an instant: clocks differ), and the receiver handles the batch under
// that deadline, as gRPC does for an RPC's. The sender fails a batch whose
// deadline passes before its reply with status DeadlineExceeded and frees
// its slot; a late reply is dropped. A stream on which a batch cannot even
// be written by its deadline (1 s at least), because the peer stopped
// reading and flow control holds the sender, ends: its batches fail so
// too, and the next batch opens a new stream. A caller never waits beyond
// its own context: when ctx ends, the call returns ctx.Err() (wrapped) at
// once, and the answer that may come later lands in a channel buffered
// for it and is dropped, so no goroutine ever blocks on a caller that
// left. Calls whose context has ended before their batch is formed are
// not sent.
//
// Batching and flow control. Per peer node and per kind (Replicate,
// Fetch), at most PeersConfig.MaxInFlight batches (4) are in flight: sent
// and not answered, failed or past their deadline. A call made while a
// slot is free leaves at once, alone: there is no timer and no added
// latency at low load. Calls made while every slot is busy queue, and an
// answered batch hands its slot to the queue as the next batch, capped at
// MaxBatch items (256) and MaxBatchBytes (4 MiB, estimated; a single
// larger item goes alone). So batches grow with load, and one message and
// one storage commit on the receiver serve many client requests. Answers
// come back item by item, in order: each caller gets its own ack or error.
// The receiver handles up to ServerConfig.StreamInFlight batches (8) of
// each kind of a stream at once, so a slow Fetch does not hold back
// Replicates, and reads no more of a kind while those are busy; HTTP/2
// flow control then holds the sender.
//
// Errors. An item the remote node failed (or a malformed reply) yields an
// error wrapping ErrRemote; a batch that failed as a whole (the reply's
// status, a passed deadline, a broken stream: every batch in flight on it)
// fails every item in it with an error wrapping ErrUnreachable and the
// gRPC status (use status.Code); calls after, or cut short by, Close wrap
// ErrClosed. A
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
// times the default batch byte cap. A message over the limit fails that RPC,
// or ends that stream, with codes.ResourceExhausted; the connection and
// server keep working.
//
// Keepalive. Pool pings idle connections every 30 s and permits pings
// without streams; Server tolerates pings every 10 s or more and pings idle
// clients after 1 min. Dead connections, and the streams on them, are thus
// found without traffic.
//
// Goroutines. Server owns, besides gRPC's own and the one Close uses to
// bound GracefulStop by StopTimeout, a receive goroutine per Internode
// stream and one per batch being handled (gRPC's handler goroutine sends
// the replies). Close makes every stream stop reading, answer the batches
// it has and end, so GracefulStop does not wait on open streams; it
// returns after every Serve call and stream goroutine did. Peers runs two
// goroutines per open stream (one sends, one receives: gRPC allows one of
// each) and one per batch sent as a unary RPC, counted by a WaitGroup;
// Close fails queued calls with ErrClosed, cancels the streams and RPCs
// in flight (their calls fail with ErrClosed) and waits for those
// goroutines. Pool owns none
// (gRPC's connection goroutines end when Close or Forget closes the
// connection). All types are safe for concurrent use and every Close is
// idempotent.
package transport
