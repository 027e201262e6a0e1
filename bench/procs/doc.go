// Package procs starts local clusters of `chorus node` processes on
// loopback for the benchmarks that need real processes: a node killed
// with SIGKILL, restarted on its data, or measured without the test's own
// goroutines beside it (chorus bench --start, bench compare, bench
// failover).
//
// # Guarantees
//
//   - Start returns only when every node sees the whole ring and has no
//     partition left to receive, or an error; on error every process it
//     started has exited and a directory it created is removed.
//   - Close stops every node (SIGTERM, then SIGKILL after
//     Config.StopTimeout) and waits for each process to exit. On Linux a
//     node also dies with the process that started it (Pdeathsig), so a
//     crashed benchmark leaves no node behind.
//   - Each node's output goes to Dir/node<i>.log, appended across
//     restarts.
package procs
