// Package procs starts local clusters of `chorus node` processes on
// loopback for the benchmarks that need real processes: a node killed
// with SIGKILL, restarted on its data, or measured without the test's own
// goroutines beside it (chorus bench --start, bench compare, bench
// failover), and for fault tests: with Config.Hosts each node has its own
// loopback address (127.0.0.2, ...), as separate machines do, so traffic
// can be cut by address; Pause and Resume stop and continue a node
// (SIGSTOP, SIGCONT); Add starts one more node that joins the others.
//
// # Guarantees
//
//   - Start returns only when every node sees the whole ring and has no
//     partition left to receive, or an error; on error every process it
//     started has exited and a directory it created is removed.
//   - Close stops every node (SIGTERM, then SIGKILL after
//     Config.StopTimeout; a paused node is continued first so that it
//     can handle SIGTERM) and waits for each process to exit. On Linux a
//     node also dies with the process that started it (Pdeathsig), so a
//     crashed benchmark leaves no node behind.
//   - Each node's output goes to Dir/node<i>.log, appended across
//     restarts.
package procs
