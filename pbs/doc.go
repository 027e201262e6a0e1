// Package pbs predicts how stale the reads of a partial quorum are:
// Probabilistically Bounded Staleness (Bailis et al., "Probabilistically
// Bounded Staleness for Practical Partial Quorums", VLDB 2012), by Monte
// Carlo simulation of the paper's WARS model.
//
// # The model
//
// A key has N replicas. A coordinator sends a write to all N at once;
// replica i receives it after W_i and its acknowledgement takes A_i more.
// The write commits (time t_ack) when the W-th fastest W_i + A_i is back.
// A read starts Δ after the commit and is sent to all N replicas; replica
// i receives it after R_i and its response takes S_i more, and the read
// returns when the first R responses, by R_i + S_i, are in (ties broken
// uniformly at random). A responder holds a write if the write reached it
// before the read request did: W_i <= t_ack + Δ + R_i, with times measured
// from the write's start. Point.Consistent is the probability that some
// responder holds the latest write.
//
// For k-staleness the writer writes back to back: write j+1 starts Gap
// after write j commits, each write with fresh delays, and a responder
// returns the newest version it holds (versions are totally ordered by the
// writer). Point.Behind[k] is the probability that the read returns the
// version k behind the latest, over a history of MaxK+1 writes.
//
// Two extensions bring the model closer to a Dynamo-style store, where
// any node coordinates and the client is not at the coordinator:
// Config.Nodes lets a coordinator be one of the key's replicas, reaching
// its own copy with no delay, and Config.ClientAck and ClientRead add the
// client's own hops before the read starts. Both are off by default.
//
// Predict assumes what the paper assumes:
//
//   - Legs are independent and identically distributed across replicas,
//     legs and operations: no replica is persistently slow, and no delay
//     correlates with another (a congested link, a GC pause).
//   - One writer, whose writes to the key are serialised: no concurrent
//     writes, so no siblings, and "newest" is the version number.
//   - No failures, and nothing but the write itself spreads it: no read
//     repair, hinted handoff or anti-entropy (those only make reads
//     fresher), and no sloppy quorum (the N replicas never change).
//   - One ideal clock: Δ is measured from the commit as the writer sees
//     it. Comparing the prediction with a real cluster's reads needs
//     clocks synchronised well below the deltas of interest.
//
// # Guarantees
//
//   - Every probability is an average over Config.Trials independent
//     trials, so its standard error is sqrt(p(1-p)/Trials), at most
//     0.5/sqrt(Trials) (0.0016 at the default 100000).
//   - Same Config, same Prediction: one PCG source seeded with
//     Config.Seed, used on the calling goroutine only.
//   - Each trial's delays serve every delta (common random numbers), so
//     Consistent, and the probability of being at most k versions behind
//     for every k, are exactly non-decreasing in Δ, not merely up to noise.
//   - A strict quorum (R+W > N) is consistent with probability exactly 1
//     at every Δ, whatever the distributions.
//   - Without Config.Nodes: 1 - Consistent <= ClosedForm(q) and the
//     probability of being k or more versions behind <= ClosedFormK(q, k),
//     up to Monte Carlo error, for every distribution and Δ (with
//     coordinators on replicas the read quorum is no longer a uniform
//     subset, and staleness may exceed it): whoever acknowledged a write holds it,
//     and the read quorum is a uniformly random R-subset independent of
//     every write quorum. With A = R = S = 0, Δ = 0 and a continuous W,
//     1 - Consistent converges to ClosedForm(q).
//   - Behind sums to 1 (up to float rounding) and Behind[0] == Consistent.
//
// Predict allocates only its result and a few slices per call; a trial
// allocates nothing.
package pbs
