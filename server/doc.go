// Package server wires one Chorus node together: badger storage, gossip
// membership, the hinted-handoff queue, the request coordinator, the
// batched internode transport, and the client APIs (gRPC and HTTP, with
// Prometheus metrics and pprof).
//
// Guarantees:
//
//   - A node started with Start is a ring member when Start returns: it
//     joined through one of Config.Join, or bootstrapped a new cluster.
//     A restarted node keeps its node ID and its data and rejoins. Until
//     then its client routes (KV, cluster views, membership changes; HTTP
//     and gRPC) answer Unavailable / 503 "node starting" with a
//     Retry-After: it serves no request before it knows the ring and
//     which nodes are up. Its internode service, status and metrics are
//     served from the start.
//   - Any node serves every key. A write that reaches a node that is not
//     one of the key's N primaries is forwarded to a live primary, which
//     mints the new version; if no primary can be reached the receiving
//     node coordinates it with fallbacks (sloppy quorum, hinted handoff).
//     Reads are coordinated where they arrive.
//   - A write is coordinated once (replica.Forwarder). A forwarded write
//     goes to one primary; once it may have reached it, it goes to no
//     other: the primary's own answer (marked by transport.Answer, so a
//     quorum error after its apply is not mistaken for an unreachable
//     node) is the client's answer, and a send that got no answer is
//     answered DeadlineExceeded (HTTP 503) "may have been applied", naming
//     the node. Only a send that certainly never left (no connection)
//     moves on to the next primary. A primary that answers neither the
//     write nor a ping within the coordinator's FallbackAfter ends the
//     wait and is passed over by later writes, so a paused node delays
//     only the writes already sent to it.
//   - Every other retry moves sets whose dots were already minted and
//     merges them (hint delivery, read repair, anti-entropy, handoff
//     pulls): merging is idempotent, so a retried delivery cannot create
//     a version.
//   - Errors reach clients as gRPC status codes, and over HTTP as JSON
//     bodies with the matching status: bad input is InvalidArgument (400),
//     a quorum not met is Unavailable (503) with the replica counts. Bad
//     input is refused before any replica is asked (keys over the storage
//     limit, unparsable query strings, contexts over vclock's bounds, n
//     above the ring's replication factor), and no input can make a key
//     unreadable. Every HTTP answer a route of the API did not write
//     (the router's redirects) is replaced by a JSON error; error messages
//     are bounded (1 KiB, 128 bytes of quoted input). Only requests that
//     are not valid HTTP at all are refused by Go's HTTP layer in plain
//     text, before any route.
//   - With Config.Auth set, or TLS on (without an auth config, TLS gives
//     every client certificate of the cluster's CA every role and refuses
//     every other request), every client request is authorized before it
//     is routed (package auth has the rules): HTTP GET/HEAD of keys and
//     of the read-only views need read, PUT and DELETE of keys write,
//     membership changes, pprof and /metrics admin (/metrics is open with
//     AuthConfig.OpenMetrics); /healthz and /readyz are always open. A
//     request without valid credentials is answered 401 with a
//     WWW-Authenticate: Bearer challenge, one without the role 403 naming
//     the identity and the role, both as JSON errors; a stranger gets 401
//     even for a route that does not exist, anyone known the 404. The
//     gRPC interceptors (for the client listener) do the same for the KV
//     service: Get and ClusterInfo need read, Put and Delete write, any
//     other method admin; refusals are Unauthenticated and
//     PermissionDenied. Every refusal is counted in
//     chorus_auth_denied_total{api,reason}. A plaintext node without
//     Config.Auth checks nothing.
//   - No client holds a connection forever: the HTTP API has read-header,
//     read, write and idle timeouts (Config.HTTP; a stalled body is
//     answered 408), and the gRPC server closes connections that send no
//     preface or stop answering keepalive pings.
//   - Close stops intake first, lets in-flight requests finish for up to
//     Config.ShutdownTimeout, then stops the coordinator (which finishes
//     its replication), the hint queue, gossip and storage, and waits for
//     every goroutine the node started.
package server
