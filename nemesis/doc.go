// Package nemesis is the pure core of chorus nemesis, the fault test of a
// real cluster: the history of a run, the workloads that generate its
// operations, and the checker that judges it. It does no I/O beyond the
// readers and writers it is given, starts no goroutines and reads no
// clock: a runner executes the operations, injects the faults and
// records what happened; this package decides what that means.
//
// # The history
//
// A History holds every client operation (Op: who sent what to which
// node, when it was invoked and completed, its outcome and what came
// back), the fault timeline (Fault: a kind, the nodes it made unhealthy,
// [start, end)), and the final state after the heal (Final: every node's
// own copy of every key, as GET /v1/replica/{key} shows it, and the
// measured time to converge). Times are nanoseconds since the run
// started. Outcomes follow Jepsen: OK was acknowledged, Fail certainly
// did not happen, Info may or may not have happened. Encoder writes a
// history as JSON lines as the run goes; ReadHistory reads one back so a
// run can be checked again.
//
// # The workloads
//
// NewClient returns a workload's generator for one client: a pure state
// machine whose Next takes the client's last completed operation and
// returns the next Request. Every value written is a JSON object with an
// id unique to that write ("<workload>:<client>:<n>"), so any value seen
// anywhere names the write that made it:
//
//   - write-once: each put writes a new key once.
//   - set: read a shared key, write the union of its siblings' elements
//     plus one new element, with the read's context.
//   - put-delete: put a new key; once acknowledged, delete it with the
//     put's answered context; read it back.
//   - counter: read a shared key, merge the siblings' G-counters by
//     per-slot maxima, add one to the client's own slot, write with the
//     read's context.
//
// # The guarantees checked
//
// Check reports, with the operations and nodes involved: acknowledged
// writes missing from a replica (lost); acknowledged set elements in no
// final copy (set-element-lost); values or elements no write that may
// have happened carried, or read before their write was sent (phantom);
// deleted values live again after an acknowledged delete that covered
// them (resurrected); one write under two dots, or a counter slot above
// what its client wrote (double-applied); primaries whose final digests
// differ (replicas-disagree); keys with acknowledged writes but no final
// state (missing-final). Info operations are may-have-happened
// throughout: never required, never a phantom. It also reports the
// sibling counts reads saw, each counter's total beside its increments,
// availability per fault kind and the longest window without an
// acknowledged write at a healthy node; with thresholds set in Config,
// too long a window or convergence is an anomaly too.
package nemesis
