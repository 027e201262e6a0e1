// Package runner runs a fault test of real Chorus nodes, as chorus
// nemesis does: it starts a cluster of `chorus node` processes, each on
// its own loopback address and secured with TLS as a deployment is; runs
// the nemesis workloads against them from concurrent clients while
// nemesis/inject strikes and heals faults on a seeded plan; heals
// everything; waits for the replicas to agree, reading each node's own
// copy of every key (GET /v1/replica/{key}, which repairs nothing); and
// hands the history to the nemesis checker.
//
// With Config.Compose the nodes are instead the containers of the
// docker-compose cluster (nemesis/compose): killed, paused and cut off
// with docker, reached on their published ports; the workloads, the
// plan, the convergence wait and the checker are the same.
//
// # Guarantees
//
//   - Every fault is healed and every node stopped before Run returns,
//     whatever ends it (the duration, a cancelled context, an error).
//   - The history is written to Config.Dir as the run goes (a run that
//     dies leaves every operation completed so far) and is complete when
//     Run returns; the same seed replays the same fault plan and the same
//     workload choices.
//   - An operation's outcome is ok only when the node acknowledged it,
//     fail only when it certainly did not happen (a refused connection, a
//     4xx, a node still starting), and info otherwise: a write that timed
//     out, or whose quorum failed after the coordinator stored it, may
//     have happened, as Jepsen records it.
//   - Partitions need iptables as root (scripts/install-netfaults.sh);
//     without them Run drops the partition faults and says so in its log
//     and in the history's note. Against the compose cluster they are
//     docker network disconnects, and a bridge, which those cannot make,
//     is struck and healed at once and named in Result.Notes and the log.
package runner
