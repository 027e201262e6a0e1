package compose

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/chorusdb/chorus/nemesis/netfault"
)

// Net cuts the cluster's network by disconnecting nodes from it (docker
// network disconnect) and heals it by connecting them again with their
// address and service name. Only cuts of one kind can be made so: every
// node on one side (the largest) talks to every other node on it, and to
// none of the nodes off it; those are disconnected, which also cuts them
// from each other and from the clients. Its methods are safe for
// concurrent use and run one at a time.
type Net struct {
	c   *Cluster
	mu  sync.Mutex
	out map[int]bool // the nodes disconnected now
}

// Apply replaces the cut in force with cut: it connects the nodes the new
// cut leaves alone and disconnects those it isolates. A cut that cannot
// be made so (a bridge, a one-way cut) is an error wrapping
// ErrUnsupported, and changes nothing.
func (n *Net) Apply(ctx context.Context, cut netfault.Cut) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	hosts := map[int]string{}
	n.c.mu.Lock()
	for i, nd := range n.c.nodes {
		if !nd.gone {
			hosts[i] = nd.ip
		}
	}
	n.c.mu.Unlock()
	want, err := isolated(cut, hosts)
	if err != nil {
		return err
	}
	var errs []error
	for _, i := range slices.Sorted(maps.Keys(n.out)) {
		if !want[i] {
			errs = append(errs, n.connect(ctx, i))
		}
	}
	for _, i := range slices.Sorted(maps.Keys(want)) {
		if !n.out[i] {
			errs = append(errs, n.disconnect(ctx, i))
		}
	}
	return errors.Join(errs...)
}

// Heal connects every disconnected node again.
func (n *Net) Heal(ctx context.Context) error { return n.Apply(ctx, netfault.Cut{}) }

// Disconnected returns the nodes cut off now.
func (n *Net) Disconnected() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Sorted(maps.Keys(n.out))
}

func (n *Net) disconnect(ctx context.Context, i int) error {
	nd, network, err := n.target(i)
	if err != nil {
		return err
	}
	if _, err := n.c.docker(ctx, "network", "disconnect", network, nd.id); err != nil {
		return err
	}
	n.out[i] = true
	return nil
}

// connect gives node i its address and service name back: its peers find
// it by name, and the cluster's ring knows it by that address.
func (n *Net) connect(ctx context.Context, i int) error {
	nd, network, err := n.target(i)
	if err != nil {
		return err
	}
	if _, err := n.c.docker(ctx, "network", "connect", "--ip", nd.ip, "--alias", nd.service, network, nd.id); err != nil {
		return err
	}
	delete(n.out, i)
	return nil
}

func (n *Net) target(i int) (*node, string, error) {
	nd, err := n.c.live(i)
	if err != nil {
		return nil, "", err
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	return nd, n.c.network, nil
}

// isolated returns the nodes (keys of hosts, their addresses) to
// disconnect for cut: those off its largest side, a set of addresses
// that all talk to each other and to nobody else. Addresses the cut
// names that no node has (a node no longer running) count as hosts that
// need no disconnecting.
func isolated(cut netfault.Cut, hosts map[int]string) (map[int]bool, error) {
	out := map[int]bool{}
	if cut.Empty() {
		return out, nil
	}
	addrs := map[string]bool{}
	for _, h := range hosts {
		addrs[h] = true
	}
	for _, l := range cut.Links() {
		addrs[l.From], addrs[l.To] = true, true
	}
	all := slices.Sorted(maps.Keys(addrs))
	open := func(a, b string) bool { return !cut.Blocks(a, b) && !cut.Blocks(b, a) }
	// The sides: the addresses connected by open links.
	side := map[string]int{}
	var sides [][]string
	for _, a := range all {
		if _, ok := side[a]; ok {
			continue
		}
		s := len(sides)
		side[a] = s
		members := []string{a}
		for q := 0; q < len(members); q++ {
			for _, b := range all {
				if _, ok := side[b]; !ok && open(members[q], b) {
					side[b] = s
					members = append(members, b)
				}
			}
		}
		sides = append(sides, members)
	}
	// The largest side stays; on a tie, the one of the lowest address.
	sort.SliceStable(sides, func(i, j int) bool { return len(sides[i]) > len(sides[j]) })
	keep := sides[0]
	for i, a := range keep {
		for _, b := range keep[i+1:] {
			if !open(a, b) {
				return nil, fmt.Errorf("%w: %s and %s reach each other through a third node yet are cut from each other, as in a bridge; "+
					"docker network disconnect can only cut nodes off altogether", ErrUnsupported, a, b)
			}
		}
	}
	for _, a := range keep {
		for _, b := range all {
			if side[b] != side[keep[0]] && (!cut.Blocks(a, b) || !cut.Blocks(b, a)) {
				return nil, fmt.Errorf("%w: the link between %s and %s is cut one way only", ErrUnsupported, a, b)
			}
		}
	}
	for i, h := range hosts {
		if side[h] != side[keep[0]] {
			out[i] = true
		}
	}
	return out, nil
}
