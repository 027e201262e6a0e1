// Package silence bounds how long a caller waits on a peer that has
// stopped answering (a paused process, a link cut without an error, a node
// the failure detector has not declared dead yet) without giving up on one
// that is only slow.
//
// A request to a peer may legitimately take long: a quorum wait, a sync
// on a loaded disk. A deadline cannot tell that apart from a peer that
// will never answer, so Watch asks the peer a second, trivial question
// half-way through its bound. A peer that answers it is alive and the
// request keeps its full deadline; one that answers neither within the
// bound is silent, and the request's context is cancelled with an *Error.
//
// Guarantees: Watch returns only after the call has returned and every
// timer and ping it started has ended; it never cancels a call whose peer
// answered the ping; it reads time only from the clock it is given, so
// tests step a clock.Fake.
package silence
