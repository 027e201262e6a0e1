// Package clock is Chorus's one source of time for the timers that decide
// protocol behaviour: the coordinator's fallback wait, the repair
// scheduler's pauses, the handoff stall and retry timers, hint delivery and
// every pacer. It has the shape of tailscale's tstime.Clock: production
// code holds a Clock, real time unless a test injects a Fake.
//
// # Guarantees
//
//   - Real is the standard library's time, nothing added.
//   - A Fake's time moves only when its Advance or Set is called. Advance
//     fires every timer and ticker that falls due, in deadline order, each
//     seeing Now equal to its deadline while it fires; a sleeping goroutine
//     therefore wakes exactly when the test says, never because a loaded
//     machine was slow.
//   - Fake.BlockUntil and Fake.Waiters tell a test how many timers and
//     tickers are armed, so it can wait until the code under test is
//     waiting before it steps time, instead of sleeping.
//   - Sleep waits on a Clock and returns early, with the context's error,
//     when the context ends.
//
// The package imports only the standard library: every package of the
// project may import it.
package clock
