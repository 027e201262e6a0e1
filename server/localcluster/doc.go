// Package localcluster starts a Chorus cluster of several nodes in one
// process, on loopback with real gossip and gRPC, each with its own data
// directory: what `chorus demo` runs, and what tests and benchmarks use
// for a cluster of real nodes. It is not part of a node's production API
// (package server).
//
// Guarantees:
//
//   - Start returns once every node sees the whole ring and has received
//     the partitions it owns, so the first requests see the cluster as
//     started and every replica counts toward R; on error it has closed
//     every node it started.
//   - Node i serves HTTP on BasePort+i, gRPC on BasePort+1010+i and gossip
//     on BasePort-134+i (the defaults of `chorus node` for node 0 with
//     8080), or on ports the system picks with BasePort 0.
//   - Close closes every node and waits for them.
package localcluster
