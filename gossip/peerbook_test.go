package gossip

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
)

func TestPeerBookRoundTrip(t *testing.T) {
	in := map[string]string{"n1": "127.0.0.2:7946", "n2": "node-2.chorus:7946", "n3": "[::1]:7946"}
	out, err := decodePeerBook(encodePeerBook(in))
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(in, out) {
		t.Errorf("decoded %v, want %v", out, in)
	}
}

func TestPeerBookRejectsDamage(t *testing.T) {
	many := map[string]string{}
	for i := range MaxPeerBook + 1 {
		many["n"+strconv.Itoa(i)] = "127.0.0.1:1"
	}
	for name, b := range map[string][]byte{
		"not json":      []byte("{"),
		"other version": []byte(`{"version":2,"peers":{}}`),
		"empty id":      []byte(`{"version":1,"peers":{"":"127.0.0.1:1"}}`),
		"long id":       []byte(`{"version":1,"peers":{"` + strings.Repeat("x", MaxIDLen+1) + `":"127.0.0.1:1"}}`),
		"no port":       []byte(`{"version":1,"peers":{"n1":"127.0.0.1"}}`),
		"long address":  []byte(`{"version":1,"peers":{"n1":"` + strings.Repeat("a", MaxAddrLen) + `:1"}}`),
		"too many":      encodePeerBook(many),
	} {
		if _, err := decodePeerBook(b); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}

// FuzzDecodePeerBook: whatever a damaged store holds, decoding never
// panics, and what it accepts holds only valid entries and encodes back
// to the same book.
func FuzzDecodePeerBook(f *testing.F) {
	f.Add(encodePeerBook(map[string]string{"n1": "127.0.0.2:7946"}))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"peers":{"a":"b:1"},"x":[1,2]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		peers, err := decodePeerBook(b)
		if err != nil {
			return
		}
		for id, addr := range peers {
			if err := checkPeer(id, addr); err != nil {
				t.Fatalf("accepted an invalid entry: %v", err)
			}
		}
		again, err := decodePeerBook(encodePeerBook(peers))
		if err != nil || !maps.Equal(again, peers) {
			t.Fatalf("re-decoded %v, %v; want %v", again, err, peers)
		}
	})
}

// TestCorruptPeerBookIgnored: a book that cannot be decoded does not keep
// the node from starting; it starts with nothing remembered.
func TestCorruptPeerBookIgnored(t *testing.T) {
	c := testConfig(t, "n0")
	c.PeerStore = &memStore{data: []byte("{not json")}
	m := startNode(t, c)
	if got := m.Remembered(); len(got) != 0 {
		t.Errorf("Remembered() = %v from a corrupt book, want nothing", got)
	}
}

// TestRestartWithoutSeedsRejoinsRemembered is the first node of a cluster
// (started without seeds) restarted after the others declared it dead:
// memberlist does not probe dead nodes, so only its peer book brings it
// back. Its book remembers the others, survives the restart, and Rejoin
// makes them see it alive again.
func TestRestartWithoutSeedsRejoinsRemembered(t *testing.T) {
	store, book := &memStore{}, &memStore{}
	port := freePort(t)
	nodes := startCluster(t, 3, func(i int, c *Config) {
		if i == 0 {
			c.Store, c.PeerStore, c.BindPort = store, book, port
		}
	})
	chorustest.EventuallyOK(t, "3 nodes converge", func() error {
		return converged(nodes, StatusActive, ids(nodes)...)
	})
	want := []string{nodes[1].GossipAddr(), nodes[2].GossipAddr()}
	slices.Sort(want)
	chorustest.EventuallyOK(t, "n0 remembers n1 and n2, saved", func() error {
		saved, err := decodePeerBook(book.data0())
		if err != nil {
			return err
		}
		if got := slices.Sorted(maps.Values(saved)); !slices.Equal(got, want) {
			return errors.New("saved book " + strings.Join(got, ","))
		}
		return nil
	})
	if err := nodes[0].Close(); err != nil {
		t.Fatal(err)
	}
	chorustest.EventuallyOK(t, "n1 and n2 see n0 gone", func() error {
		if nodes[1].Alive("n0") || nodes[2].Alive("n0") {
			return errors.New("still alive")
		}
		return nil
	})

	c := testConfig(t, "n0")
	c.Store, c.PeerStore, c.BindPort = store, book, port
	nodes[0] = startNode(t, c)
	if got := nodes[0].Remembered(); !slices.Equal(got, want) {
		t.Fatalf("after the restart Remembered() = %v, want %v", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := nodes[0].Rejoin(ctx); err != nil {
		t.Fatalf("Rejoin: %v", err)
	}
	chorustest.EventuallyOK(t, "n1 and n2 see the restarted n0 alive", func() error {
		return converged(nodes, StatusActive, ids(nodes)...)
	})
}

// TestRejoinWithoutBook: a node that remembers nobody has no one to
// rejoin.
func TestRejoinWithoutBook(t *testing.T) {
	m := startNode(t, testConfig(t, "n0"))
	if err := m.Rejoin(context.Background()); !errors.Is(err, ErrNoSeeds) {
		t.Errorf("Rejoin = %v, want ErrNoSeeds", err)
	}
}
