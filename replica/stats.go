package replica

// Stats is a snapshot of a Coordinator's counters since it was created.
type Stats struct {
	// Puts, Gets and Deletes count requests coordinated, answered or not.
	Puts    uint64 `json:"puts"`
	Gets    uint64 `json:"gets"`
	Deletes uint64 `json:"deletes"`
	// Sloppy counts requests whose quorum included a fallback.
	Sloppy uint64 `json:"sloppy"`
	// QuorumFailures counts requests answered with a QuorumError.
	QuorumFailures uint64 `json:"quorum_failures"`
	// ReadRepairs counts stale or missing replicas sent a repair;
	// ReadRepairsDropped those skipped because the repair queue was full.
	ReadRepairs        uint64 `json:"read_repairs"`
	ReadRepairsDropped uint64 `json:"read_repairs_dropped"`
	// Hinted counts writes a fallback accepted on behalf of a primary.
	Hinted uint64 `json:"hinted"`
	// PartialReplies counts read replies, this node's own included, from
	// a replica still receiving the key's partition: their data was
	// merged but they did not count toward R or PR.
	PartialReplies uint64 `json:"partial_replies"`
	// Replies counts the replica replies requests received, this node's
	// own included, answered or failed, in time or late.
	Replies uint64 `json:"replies"`
	// DigestReads counts the replicas asked for a digest instead of their
	// set (Options.ReadRepair digest); DigestMismatches those of them that
	// were then asked for their set, because their digest matched no set
	// the read held (a stale replica, or a data replica that had failed).
	DigestReads      uint64 `json:"digest_reads"`
	DigestMismatches uint64 `json:"digest_mismatches"`
}
