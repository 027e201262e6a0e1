// Package bench is the benchmark harness of Chorus.
//
// # Load
//
// Run drives any Target (ClientTarget for a Chorus cluster through the Go
// client; bench/etcdtarget for etcd) with a workload: put, get, mixed, the
// YCSB core workloads A, B, C, D and F, or a delete-heavy mix. Keys are
// "key-%08d", chosen uniformly, zipfian (exact, by rejection-inversion,
// skew Config.Theta, hot keys scattered over the key space) or latest
// (zipfian over recency, following D's inserts). Values are of a fixed
// size or of a size uniform in a range. A run is bounded by a duration or
// an operation count; every client has its own random source, seeded from
// Config.Seed and its index, so a run is repeatable for a given seed.
//
// In a closed loop (the default) each of Config.Clients goroutines sends
// its next request when the last one answered. In an open loop
// (Config.Rate) requests are scheduled at a fixed rate whatever the
// latency, and each latency counts from its scheduled start, so that a
// stall delays, and shows in, every request scheduled during it: no
// coordinated omission. The time from the actual send is kept apart as
// the service time.
//
// Latencies go to a Histogram (an HdrHistogram, relative error below 1%,
// with exact min, max and mean kept beside it) per operation kind; errors are
// counted by kind, never fatal. A progress line per second, the final
// table (WriteTable), the JSON report (WriteJSON, with a latency spectrum
// for plots) and a 100 ms timeline of successes and failures report a run.
//
// # Staleness and availability
//
// MeasureStaleness measures t-visibility and k-staleness (Bailis et al.,
// Probabilistically Bounded Staleness): versions written through one
// coordinator, each read through the others at chosen delays after its
// acknowledgement. MeasureAvailability measures the share of requests that
// succeed with one node cut off or the cluster partitioned, with strict or
// sloppy quorums, on an in-memory cluster. QuorumExperiment sweeps quorum
// settings on fresh local clusters and adds the WARS model's prediction
// (package pbs) from the one-way delays the coordinators recorded.
//
// MeasureClusterStaleness does the same on a running cluster, predicting
// from the delays its nodes recorded (GET /v1/legs).
//
// # Comparisons and failover
//
// Compare runs one workload against several named targets at several
// client counts and WriteCompareTable gives each run's ratios to etcd's.
// For a target whose server processes it knows (NamedTarget.PIDs), each
// run also reports the CPU time they used during the measured window
// only (read as the window opens and as it closes, so neither preload
// nor warm-up counts) per operation answered, and their peak resident
// sets after the run; MeasureIdle gives a cluster's CPU while it serves
// nothing. Both read /proc through bench/procstat and say "not measured"
// (nil, "n/a") where there is none, never zero.
// Failover runs a write load while a Victim is killed and restarted on a
// schedule, and FailoverRun.Summarize turns the timeline into rates
// before, during and after, the longest stall and the recovery time.
// Their targets come from bench/etcdtarget and bench/procs; their figures
// from bench/plots.
//
// Every goroutine a function here starts has exited when it returns.
package bench
