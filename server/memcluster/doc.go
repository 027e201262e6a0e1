// Package memcluster starts a Chorus cluster of in-memory nodes in one
// process, on one in-memory network (transport/memnet) that runs the
// production handlers: what server's scenario tests and the availability
// measurement of bench use for a cluster whose network they can cut,
// slow, pause or intercept. Package localcluster is its counterpart on
// loopback sockets with real gossip. Neither is part of a node's
// production API (package server), and this package does not import
// testing: its helpers return errors, and tests wrap them.
//
// Guarantees:
//
//   - Start returns once every node serves: in-memory membership is the
//     fixed list of Config.Nodes, so every node routes by the whole ring
//     from the start. On error it has closed every node it started and
//     the network.
//   - Node storage is in memory, and every node's Config is
//     server.DefaultConfig with its ID, in-memory storage, the network,
//     the members and Config.Logger set, then Config.Configure applied;
//     nothing else is changed.
//   - The network is seeded (Config.Network.Seed), so the messages
//     SetDrop loses are the same from run to run for the same sends.
//   - DrainHints and WaitConverged wait on a condition, never for a
//     fixed time, and give up after Config.WaitTimeout (or when their
//     context ends) with an error that says what was still missing.
//   - Close closes every node and then the network, waits for them, and
//     may be called more than once.
package memcluster
