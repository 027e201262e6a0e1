// Package client is the Go client of Chorus, a Dynamo-style key-value
// store: it routes each key to one of its replicas, retries reads, and
// resolves siblings with a merge function the caller provides.
//
//	c, err := client.New(ctx, client.Config{Endpoints: []string{"10.0.0.1:9090"}})
//	res, err := c.Get(ctx, []byte("k"))
//	_, err = c.Put(ctx, []byte("k"), []byte("v"), client.WithCausal(res.Causal))
//
// # Security
//
// A cluster started with --certs-dir speaks TLS 1.3 only. Config.TLS
// makes the client do so too; certs.LoadClient builds that configuration
// from a certificates directory (the cluster CA, and the user's client
// certificate client.USER.crt/.key when present):
//
//	tlsCfg, err := certs.LoadClient("/etc/chorus/certs", "alice")
//	c, err := client.New(ctx, client.Config{Endpoints: eps, TLS: tlsCfg, Token: os.Getenv("CHORUS_TOKEN")})
//
// A client certificate identifies its user by its CN; Config.Token is the
// other way: a bearer token sent with every call ("authorization: Bearer
// TOKEN" metadata). Validate refuses a Token without TLS, and gRPC refuses
// to send it over plaintext, unless Config.AllowTokenWithoutTLS says
// otherwise. A nil TLS means plaintext, for clusters started with
// --insecure.
//
// # Guarantees
//
// Routing. New fetches the cluster's routing table (ClusterInfo: members,
// and for each of the Q partitions its primaries) from the first endpoint
// that answers. A request for key goes to the first primary of partition
// ring.PartitionOf(key, Q) that the cluster reports alive and that the
// client could reach lately; the other primaries follow, and the dead or
// unreachable ones come last. With an empty table the endpoints are used.
// Any node serves any key (a non-replica forwards), so routing only saves
// a hop; it never decides correctness. Connections are made lazily, one
// per node. The table is refreshed every Config.RefreshInterval by the
// client's one goroutine, and at once when a node cannot be reached, a
// request fails with Unavailable, or a quorum was sloppy.
//
// Retries. A node whose connection cannot be established within
// DialTimeout is skipped before anything is sent to it; this holds for
// every request. Beyond that, reads are idempotent and a read that failed
// with codes.Unavailable or codes.DeadlineExceeded is retried on the next
// replica, at most Config.ReadRetries times. Writes and deletes are never
// retried once sent: their connection was ready and the request left, so
// the node may have applied it (a timed-out write may still succeed), and
// a blind retry could create a sibling. The exceptions are answers that
// say the node did not act on the request (transport.NotHandled: it is
// still starting, or gRPC failed the call while dialing): any request
// then goes to the next node. A node that answers neither a request nor
// a ping (ClusterInfo) within Config.SilenceAfter (a paused process, a link
// cut without an error) ends the request with DeadlineExceeded and is
// marked down: a read goes on to the next replica, a write is not re-sent.
// The client errs on the side of
// not retrying: a connection that breaks between the readiness check and
// the send fails the write with ErrUnavailable. Callers that want to
// retry a write do so with the same context; the result is at worst a
// sibling, never a lost write.
//
// Deadlines. Every attempt has a deadline: Config.RequestTimeout, or the
// quorum timeout plus one second when that is longer, and never later than
// the caller's context.
//
// Causality. Every read returns an opaque causal context (Result.Causal,
// of type Causal, named so as not to be confused with context.Context);
// pass it back with WithCausal on the write that is based on the read,
// and the write supersedes exactly the values the read saw. Concurrent
// writes come back as several Values (siblings): Result.Value then fails
// with ErrSiblings rather than pick one or return nil. GetMerged resolves
// them with a Merge function, which gets the key and may fail, and writes
// the result back with the read's causal context.
//
// Errors. Every error of a request is an *Error carrying the gRPC code and
// the server's message ("client: " prefixed); errors.Is matches it with
// ErrInvalid, ErrUnavailable, ErrTimeout, ErrCanceled, ErrNotFound or
// ErrInternal by code. Bad options are found locally as ErrInvalid.
// ErrNotSent matches, besides the code's sentinel, a request that never
// reached a node able to act on it (no connection, or refused unhandled):
// such a write was not applied. A write that fails with ErrTimeout was
// sent and may have been applied; its message says so. A node that cannot
// be reached is described in words ("cannot connect to 10.0.0.1:9090:
// connection refused").
//
// Via is a hook for measurements (package bench), not for applications.
//
// Concurrency. A Client is safe for concurrent use. Close stops the
// refresher, waits for it and closes the connections; it is idempotent.
package client
