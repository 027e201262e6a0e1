package memnet

// Reachable reports whether a message from node from can reach node to
// now: to is registered, the network is open, and no partition separates
// them. Random drops are not considered. Tests use it as the failure
// detector of nodes on this network, the view gossip would converge to.
func (n *Network) Reachable(from, to string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	if _, ok := n.nodes[to]; !ok {
		return false
	}
	return n.group[from] == n.group[to]
}
