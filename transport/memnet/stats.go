package memnet

// LinkStats counts the messages of one directed link, requests and
// responses together. Sent minus the other three counts the messages that
// were still in flight, or whose caller's context ended during a delay.
type LinkStats struct {
	// Sent counts messages that entered the link (the network was open).
	Sent uint64
	// Delivered counts messages that arrived: a request when its handler
	// is about to run, a response when its caller gets it.
	Delivered uint64
	// Dropped counts messages lost to a partition, a down or restarted
	// node, or SetDrop.
	Dropped uint64
	// Rejected counts requests the interceptor failed.
	Rejected uint64
}

func (s *LinkStats) add(o LinkStats) {
	s.Sent += o.Sent
	s.Delivered += o.Delivered
	s.Dropped += o.Dropped
	s.Rejected += o.Rejected
}

// Stats is a snapshot of a network's counters.
type Stats struct {
	// LinkStats holds the totals over all links.
	LinkStats
	// Links holds the counts per directed link that carried a message.
	Links map[Link]LinkStats
}

// Stats returns a snapshot of the counters since New.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := Stats{Links: make(map[Link]LinkStats, len(n.stats))}
	for l, ls := range n.stats {
		s.Links[l] = *ls
		s.add(*ls)
	}
	return s
}

// countLocked applies f to the counters of link l.
func (n *Network) countLocked(l Link, f func(*LinkStats)) {
	ls := n.stats[l]
	if ls == nil {
		ls = new(LinkStats)
		n.stats[l] = ls
	}
	f(ls)
}

func (n *Network) count(l Link, f func(*LinkStats)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.countLocked(l, f)
}
