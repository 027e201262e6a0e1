package vclock

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand"
	"testing"
)

func TestEncodeRoundTrip(t *testing.T) {
	seed := int64(42)
	rng := rand.New(rand.NewSource(seed))
	for i := range 1000 {
		s := randomSet(rng.Int63(), rng.Intn(50))
		b := s.Encode()
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("seed %d case %d: Decode(Encode(s)): %v", seed, i, err)
		}
		if !got.Equal(s) {
			t.Fatalf("seed %d case %d: round trip changed the set", seed, i)
		}
		if !bytes.Equal(got.Encode(), b) {
			t.Fatalf("seed %d case %d: re-encoding differs", seed, i)
		}
	}
}

func TestEqualSetsEncodeEqually(t *testing.T) {
	// The same two writes reaching replicas in different orders.
	x := NewSet("a", val("1"))
	y := NewSet("b", val("2"))
	if !bytes.Equal(Sync(x, y).Encode(), Sync(y, x).Encode()) {
		t.Fatal("equal sets encode differently")
	}
}

func TestDecodeDoesNotAliasInput(t *testing.T) {
	b := NewSet("a", val("hello")).Encode()
	s, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if got := string(s.Values()[0].Data); got != "hello" {
		t.Fatalf("value changed with the input buffer: %q", got)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := mustUpdate(NewSet("a", val("v")), Clock{}, "b", Value{Tombstone: true}).Encode()
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"unknown version", []byte{2, 0, 0}},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(append([]byte{}, good...), 0)},
		{"non-minimal varint", []byte{1, 0x80, 0x00, 0}},
		{"huge count", []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"zero counter", []byte{1, 1, 1, 'a', 0, 0}},
		{"unsorted clock", []byte{1, 2, 1, 'b', 1, 1, 'a', 1, 0}},
		{"duplicate clock node", []byte{1, 2, 1, 'a', 1, 1, 'a', 2, 0}},
		{"empty node ID", []byte{1, 1, 0, 1, 0}},
		{"dot beyond clock", []byte{1, 1, 1, 'a', 1, 1, 0, 2, 0, 0, 0}},
		{"dot node index out of range", []byte{1, 1, 1, 'a', 1, 1, 1, 1, 0, 0, 0}},
		{"unknown flag", []byte{1, 1, 1, 'a', 1, 1, 0, 1, 2, 0, 0}},
		{"tombstone with data", []byte{1, 1, 1, 'a', 1, 1, 0, 1, 1, 0, 1, 'x'}},
		{"duplicate sibling", []byte{1, 1, 1, 'a', 2, 2, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0}},
		{"unsorted siblings", []byte{1, 1, 1, 'a', 2, 2, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.in); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%x) error = %v, want ErrMalformed", tt.in, err)
			}
		})
	}
	// Sanity: the hand-built valid form decodes.
	if _, err := Decode([]byte{1, 1, 1, 'a', 2, 2, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0}); err != nil {
		t.Fatalf("valid hand-built set rejected: %v", err)
	}
}

func TestTimestampSurvivesEncoding(t *testing.T) {
	for _, ts := range []int64{0, 1, -1, 1 << 62, -1 << 63} {
		s := NewSet("a", Value{Data: []byte("x"), Timestamp: ts})
		got, err := Decode(s.Encode())
		if err != nil || got.Siblings()[0].Timestamp != ts {
			t.Fatalf("timestamp %d: got %v, %v", ts, got.Siblings(), err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add(NewSet("a", val("v")).Encode())
	f.Add(randomSet(1, 30).Encode())
	f.Add(binary.AppendUvarint([]byte{1}, 1<<40))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Encode(), b) {
			t.Fatalf("decoded input re-encodes differently:\n in  %x\n out %x", b, s.Encode())
		}
		if !Sync(s, s).Equal(s) {
			t.Fatal("Sync not idempotent on decoded set")
		}
		for _, sib := range s.Siblings() {
			if !s.Context().Covers(sib.Dot) {
				t.Fatalf("decoded sibling %v not covered by clock", sib.Dot)
			}
		}
	})
}

func FuzzParseContext(f *testing.F) {
	f.Add("")
	f.Add(clk("a", 1, "b", 300).String())
	f.Add("AQEBYQE")
	f.Add(clk2("a", MaxCounter).String())
	f.Add(clk2("a", math.MaxUint64).String())
	f.Add(clk2("a", MaxCounter-1).String())
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseContext(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("ParseContext(%q) re-encodes as %q", s, c.String())
		}
		b := c.Encode()
		c2, err := DecodeClock(b)
		if err != nil || Compare(c, c2) != Equal {
			t.Fatalf("binary round trip of %s: %v", c.Format(), err)
		}
		if len(s) > MaxContextLen || c.Len() > MaxContextNodes {
			t.Fatalf("accepted a context of %d bytes and %d nodes", len(s), c.Len())
		}
		// A write with any accepted context, coordinated by a node it names
		// or by a new one, stores a set that decodes, or is refused.
		coordinators := []string{"coordinator"}
		if !c.IsEmpty() {
			coordinators = append(coordinators, c.Entries()[0].Node)
		}
		for _, node := range coordinators {
			next, err := NewSet(node, val("old")).Update(c, node, val("new"))
			if errors.Is(err, ErrCounterOverflow) || errors.Is(err, ErrContextTooLarge) {
				continue
			}
			if err != nil {
				t.Fatalf("Update with %s at %s: %v", c.Format(), node, err)
			}
			if _, err := Decode(next.Encode()); err != nil {
				t.Fatalf("Update with %s at %s stored a set that does not decode: %v", c.Format(), node, err)
			}
		}
	})
}
