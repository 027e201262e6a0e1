// Package pace holds background work (anti-entropy, handoff pulls, hint
// delivery) to a budget of units per second, keys or bytes or hints, so
// that it never crowds out client requests.
//
// # Guarantees
//
//   - A Pacer is a token bucket that holds one second's worth of units and
//     starts full: work within the budget is never delayed, and over any
//     interval of t seconds at most rate×(t+1) units start.
//   - It may go into debt. A charge larger than the bucket is never
//     refused (a single large set, or a big page, must still move); it
//     empties the bucket below zero and the next work waits until the debt
//     is repaid. So the long-run rate holds whatever the sizes.
//   - Time is read from an injected clock.Clock, so tests step it.
//
// The bucket is golang.org/x/time/rate's, driven with explicit times.
package pace
