// Package bench is the benchmark harness of Chorus: a closed-loop load
// generator (Run) that drives any Target, a latency Histogram with bounded
// relative error, and the reports (plain-text table and JSON) of a run.
//
// A run starts Config.Clients goroutines. Each one issues its next request
// as soon as the previous one answered (a closed loop: the offered load
// adapts to the latency of the system under test), choosing keys
// "key-%08d" uniformly from Config.Keys keys with its own random source,
// seeded from Config.Seed and the client's index, so that a run is
// repeatable for a given seed. Errors are counted by kind, never fatal.
//
// ClientTarget adapts a *client.Client; tests and in-process benchmarks
// may implement Target directly.
package bench
