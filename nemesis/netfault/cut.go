package netfault

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Link is one direction of traffic, from one address to another.
type Link struct{ From, To string }

// Cut is the set of links whose packets are dropped. The zero Cut drops
// nothing.
type Cut struct {
	links map[Link]struct{}
}

// Links returns the cut's links, sorted.
func (c Cut) Links() []Link {
	out := make([]Link, 0, len(c.links))
	for l := range c.links {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Link) int {
		if r := strings.Compare(a.From, b.From); r != 0 {
			return r
		}
		return strings.Compare(a.To, b.To)
	})
	return out
}

// Blocks reports whether packets from one address to another are dropped.
func (c Cut) Blocks(from, to string) bool {
	_, ok := c.links[Link{from, to}]
	return ok
}

// Empty reports whether the cut drops nothing.
func (c Cut) Empty() bool { return len(c.links) == 0 }

// String describes the cut by its links.
func (c Cut) String() string {
	if c.Empty() {
		return "no cut"
	}
	var b strings.Builder
	for i, l := range c.Links() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.From + "->" + l.To)
	}
	return b.String()
}

func (c *Cut) add(from, to string) {
	if from == to {
		return
	}
	if c.links == nil {
		c.links = map[Link]struct{}{}
	}
	c.links[Link{from, to}] = struct{}{}
}

// Split cuts every link between addresses of different sides, both ways.
// An address on two sides is an error, as is an address that is not an
// IP.
func Split(sides ...[]string) (Cut, error) {
	if err := checkSides(sides); err != nil {
		return Cut{}, err
	}
	var c Cut
	for i, a := range sides {
		for _, b := range sides[i+1:] {
			for _, x := range a {
				for _, y := range b {
					c.add(x, y)
					c.add(y, x)
				}
			}
		}
	}
	return c, nil
}

// Isolate cuts one address off from all the others, both ways.
func Isolate(node string, all []string) (Cut, error) {
	var rest []string
	for _, a := range all {
		if a != node {
			rest = append(rest, a)
		}
	}
	if len(rest) == len(all) {
		return Cut{}, fmt.Errorf("netfault: %s is not one of %v", node, all)
	}
	return Split([]string{node}, rest)
}

// Bridge splits all (at least 3 addresses, in order) into two halves that
// share the middle address: it talks to everyone, and the two halves
// otherwise do not talk to each other, so each half with the bridge is a
// majority and neither knows of the other (Jepsen's bridge).
func Bridge(all []string) (Cut, error) {
	if len(all) < 3 {
		return Cut{}, fmt.Errorf("netfault: a bridge needs at least 3 nodes, got %d", len(all))
	}
	mid := len(all) / 2
	left, right := all[:mid], all[mid+1:]
	if err := checkSides([][]string{left, right, {all[mid]}}); err != nil {
		return Cut{}, err
	}
	var c Cut
	for _, x := range left {
		for _, y := range right {
			c.add(x, y)
			c.add(y, x)
		}
	}
	return c, nil
}

// checkSides refuses a side address that is not an IP, or one on two
// sides.
func checkSides(sides [][]string) error {
	seen := map[string]bool{}
	for _, side := range sides {
		for _, a := range side {
			if _, err := netip.ParseAddr(a); err != nil {
				return fmt.Errorf("netfault: %q is not an IP address", a)
			}
			if seen[a] {
				return fmt.Errorf("netfault: %s is on two sides", a)
			}
			seen[a] = true
		}
	}
	return nil
}
