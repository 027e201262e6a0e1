package storage

import (
	"bytes"
	"testing"
)

func TestDataKeyRoundTrip(t *testing.T) {
	for _, p := range []uint32{0, 1, 255, 256, 4095, MaxPartitions - 1} {
		k := dataKey(p, []byte("user/key"))
		gp, gk, err := decodeDataKey(k)
		if err != nil || gp != p || string(gk) != "user/key" {
			t.Errorf("decodeDataKey(dataKey(%d)) = %d, %q, %v", p, gp, gk, err)
		}
		if !bytes.HasPrefix(k, partitionPrefix(p)) {
			t.Errorf("dataKey(%d) lacks its partition prefix", p)
		}
	}
}

// Partitions must sort numerically so that a range of partitions is a
// range of keys.
func TestPartitionPrefixesSortNumerically(t *testing.T) {
	for p := uint32(0); p+1 < 5000; p++ {
		if bytes.Compare(partitionPrefix(p), partitionPrefix(p+1)) >= 0 {
			t.Fatalf("prefix(%d) >= prefix(%d)", p, p+1)
		}
	}
}

func TestHintKeyRoundTrip(t *testing.T) {
	k := hintKey("node-a", []byte{0, 1, 2})
	target, id, err := decodeHintKey(k)
	if err != nil || target != "node-a" || !bytes.Equal(id, []byte{0, 1, 2}) {
		t.Fatalf("decodeHintKey = %q, %v, %v", target, id, err)
	}
	// A target that is a prefix of another must not share its hints.
	if bytes.HasPrefix(hintKey("ab", []byte("x")), hintPrefix("a")) {
		t.Fatal(`hints of "ab" fall under the prefix of "a"`)
	}
}

func TestKeyspacesDisjoint(t *testing.T) {
	d, h, m := dataKey(0, []byte("k")), hintKey("t", []byte("k")), metaKey("k")
	if d[0] == h[0] || h[0] == m[0] || d[0] == m[0] {
		t.Fatalf("keyspace bytes collide: %q %q %q", d[0], h[0], m[0])
	}
}

// FuzzDecodeKeys checks that the key decoders never panic and that what
// they accept re-encodes to the same bytes.
func FuzzDecodeKeys(f *testing.F) {
	f.Add(dataKey(7, []byte("abc")))
	f.Add(hintKey("node", []byte("id")))
	f.Add([]byte{spaceData})
	f.Add([]byte{spaceHint, 200, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, k, err := decodeDataKey(b); err == nil {
			if got := dataKey(p, k); !bytes.Equal(got, b) {
				t.Fatalf("data key %x re-encodes to %x", b, got)
			}
		}
		if target, id, err := decodeHintKey(b); err == nil {
			if got := hintKey(target, id); !bytes.Equal(got, b) {
				t.Fatalf("hint key %x re-encodes to %x", b, got)
			}
		}
	})
}
