package gossip

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 2))
	for i := range 2000 {
		s := randomState(r)
		b := EncodeState(s)
		got, err := DecodeState(b)
		if err != nil {
			t.Fatalf("seed %d case %d: DecodeState(EncodeState(%v)): %v", seed, i, s.Records(), err)
		}
		if !got.Equal(s) {
			t.Fatalf("seed %d case %d: round trip = %v, want %v", seed, i, got.Records(), s.Records())
		}
	}
}

// placedRec returns a placed record with epochs joined and removed.
func placedRec(id string, st Status, v, joined, removed uint64) MemberRecord {
	r := rec(id, st, v)
	r.Placed, r.Joined, r.Removed = true, joined, removed
	return r
}

func TestEpochsRoundTrip(t *testing.T) {
	s := NewState(rec("a", StatusJoining, 1), placedRec("b", StatusActive, 2, 0, 0),
		placedRec("c", StatusLeaving, 3, 1<<40, 0), placedRec("d", StatusRemoved, 4, 7, 1<<40+1),
		rec("e", StatusRemoved, 5))
	got, err := DecodeState(EncodeState(s))
	if err != nil {
		t.Fatalf("DecodeState: %v", err)
	}
	for _, want := range s.Records() {
		if r, _ := got.Get(want.ID); r != want {
			t.Errorf("record %s round trip = %+v, want %+v", want.ID, r, want)
		}
	}
	// The epochs take part in the encoding, so in Compare's last tie-break.
	a, b := placedRec("x", StatusActive, 1, 1, 0), placedRec("x", StatusActive, 1, 2, 0)
	if Compare(a, b) == 0 || Compare(a, rec("x", StatusActive, 1)) == 0 {
		t.Error("Compare ignores the epochs")
	}
}

func TestEncodeStateFormat(t *testing.T) {
	s := NewState(MemberRecord{ID: "n1", Zone: "z", Weight: 1, GRPCAddr: "g", HTTPAddr: "h", Status: StatusActive, Version: 300})
	want := []byte{'S', 3, 1, // kind, version, count
		2, 'n', '1', 1, 'z', 1, 'g', 1, 'h', 0, // no peer address
		0x3f, 0xf0, 0, 0, 0, 0, 0, 0, // 1.0
		2,          // active
		0xac, 0x02, // 300
		0, 0, 0} // not placed, joined 0, removed 0
	if got := EncodeState(s); !bytes.Equal(got, want) {
		t.Errorf("EncodeState = %v, want %v", got, want)
	}
	removed := s.Records()[0]
	removed.Status, removed.Placed, removed.Joined, removed.Removed = StatusRemoved, true, 5, 300
	want = append(want[:len(want)-6:len(want)-6], 4, 0xac, 0x02, 1, 5, 0xac, 0x02) // removed, 300, placed, 5, 300
	if got := EncodeState(NewState(removed)); !bytes.Equal(got, want) {
		t.Errorf("EncodeState(placed, removed) = %v, want %v", got, want)
	}
	negZero := s.Records()[0]
	negZero.Weight = math.Copysign(0, -1)
	zero := negZero
	zero.Weight = 0
	if !bytes.Equal(EncodeState(NewState(negZero)), EncodeState(NewState(zero))) {
		t.Error("-0 and 0 weights encode differently")
	}
}

func TestDecodeStateRejects(t *testing.T) {
	good := EncodeState(NewState(rec("a", StatusActive, 1), rec("b", StatusActive, 1)))
	one := func(r MemberRecord) []byte { return append([]byte{'S', 3, 1}, appendRecord(nil, r)...) }
	epochs := func(st Status, placed bool, joined, removed uint64) []byte {
		r := rec("a", st, 1)
		r.Placed, r.Joined, r.Removed = placed, joined, removed
		return one(r)
	}
	badPlaced := one(rec("a", StatusActive, 1))
	badPlaced[len(badPlaced)-3] = 2
	unsorted := append([]byte{'S', 3, 2}, appendRecord(appendRecord(nil, rec("b", StatusActive, 1)), rec("a", StatusActive, 1))...)
	dup := append([]byte{'S', 3, 2}, appendRecord(appendRecord(nil, rec("a", StatusActive, 1)), rec("a", StatusActive, 2))...)
	badWeight := func(w float64) []byte { r := rec("a", StatusActive, 1); r.Weight = w; return one(r) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"nil", nil},
		{"short header", []byte{'S'}},
		{"wrong kind", append([]byte{'M'}, good[1:]...)},
		{"old version", append([]byte{'S', 1}, good[2:]...)},
		{"future version", append([]byte{'S', 4}, good[2:]...)},
		{"previous version on the network", append([]byte{'S', 2}, good[2:]...)},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"truncated", good[:len(good)-1]},
		{"huge count", []byte{'S', 3, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"bad uvarint", []byte{'S', 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"unsorted", unsorted},
		{"duplicate", dup},
		{"empty ID", one(rec("", StatusActive, 1))},
		{"status 0", one(rec("a", 0, 1))},
		{"status 5", one(rec("a", 5, 1))},
		{"long ID", one(rec(strings.Repeat("x", MaxIDLen+1), StatusActive, 1))},
		{"NaN weight", badWeight(math.NaN())},
		{"negative weight", badWeight(-1)},
		{"negative zero weight", []byte{'S', 3, 1, 1, 'a', 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0}},
		{"placed byte 2", badPlaced},
		{"joined but not placed", epochs(StatusActive, false, 3, 0)},
		{"removed but not placed", epochs(StatusRemoved, false, 0, 4)},
		{"removed epoch on an active record", epochs(StatusActive, true, 1, 4)},
		{"removed epoch on a leaving record", epochs(StatusLeaving, true, 1, 4)},
		{"removed at the joined epoch", epochs(StatusRemoved, true, 4, 4)},
		{"removed before joined", epochs(StatusRemoved, true, 5, 4)},
		{"placed and removed without epoch", epochs(StatusRemoved, true, 2, 0)},
		{"truncated epochs", one(rec("a", StatusActive, 1))[:len(one(rec("a", StatusActive, 1)))-1]},
		{"infinite weight", badWeight(math.Inf(1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := DecodeState(tt.in); err == nil {
				t.Fatalf("DecodeState(%v) = %v, want an error", tt.in, s.Records())
			} else if !strings.HasPrefix(err.Error(), "gossip: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestMetaRoundTrip(t *testing.T) {
	m := Meta{NodeID: "node-1", Zone: "eu-west-1a", GRPCAddr: "10.0.0.1:7000", HTTPAddr: "10.0.0.1:8080"}
	b, err := EncodeMeta(m)
	if err != nil {
		t.Fatalf("EncodeMeta: %v", err)
	}
	got, err := DecodeMeta(b)
	if err != nil || got != m {
		t.Fatalf("DecodeMeta = %+v, %v; want %+v", got, err, m)
	}
	if _, err := DecodeMeta(b[:len(b)-1]); err == nil {
		t.Error("DecodeMeta accepted a truncated encoding")
	}
}

func TestMetaTooLong(t *testing.T) {
	m := Meta{NodeID: "n", GRPCAddr: strings.Repeat("g", 300), HTTPAddr: strings.Repeat("h", 300)}
	if _, err := EncodeMeta(m); !errors.Is(err, ErrMetaTooLong) {
		t.Errorf("EncodeMeta of %d-byte fields: err = %v, want ErrMetaTooLong", 600, err)
	}
	if _, err := DecodeMeta(make([]byte, MetaMaxSize+1)); !errors.Is(err, ErrMetaTooLong) {
		t.Errorf("DecodeMeta of %d bytes: err = %v, want ErrMetaTooLong", MetaMaxSize+1, err)
	}
	// The largest fields Config allows fit: Validate catches only the
	// sum, which the per-field limits keep below the limit.
	fit := Meta{NodeID: strings.Repeat("i", MaxIDLen), Zone: strings.Repeat("z", MaxZoneLen),
		GRPCAddr: strings.Repeat("g", MaxAddrLen), HTTPAddr: strings.Repeat("h", MaxAddrLen)}
	if _, err := EncodeMeta(fit); err != nil {
		t.Errorf("EncodeMeta of maximal fields: %v", err)
	}
}

func TestPersistedRoundTrip(t *testing.T) {
	s := NewState(rec("a", StatusActive, 3), rec("b", StatusRemoved, 7),
		placedRec("c", StatusLeaving, 4, 2, 0), placedRec("d", StatusRemoved, 5, 1, 3))
	id, got, err := decodePersisted(encodePersisted("a", s))
	if err != nil || id != "a" || !got.Equal(s) {
		t.Fatalf("decodePersisted = %q, %v, %v; want \"a\", %v", id, got.Records(), err, s.Records())
	}
	for _, bad := range [][]byte{nil, {'P', 3, 0}, append([]byte{'P', 1, 1, 'a'}, EncodeState(s)...), encodePersisted("a", s)[:5], EncodeState(s)} {
		if _, _, err := decodePersisted(bad); err == nil {
			t.Errorf("decodePersisted(%v) succeeded", bad)
		}
	}
}

// TestPersistedVersion2 reads a state persisted before records had a peer
// address (format 2): the data directory survives the upgrade, and the
// records fall back to their gRPC address.
func TestPersistedVersion2(t *testing.T) {
	old := []byte{'P', 2, 1, 'a', 'S', 2, 1, // local ID "a", one record
		1, 'a', 1, 'z', 3, 'g', ':', '1', 3, 'h', ':', '2',
		0x3f, 0xf0, 0, 0, 0, 0, 0, 0, // weight 1.0
		2, 7, // active, version 7
		1, 3, 0} // placed at epoch 3, not removed
	id, s, err := decodePersisted(old)
	if err != nil || id != "a" {
		t.Fatalf("decodePersisted(version 2) = %q, %v", id, err)
	}
	r, ok := s.Get("a")
	if !ok || r.GRPCAddr != "g:1" || r.PeerAddr != "" || r.PeerAddrOf() != "g:1" || !r.Placed || r.Joined != 3 || r.Version != 7 {
		t.Fatalf("record = %+v", r)
	}
	r.PeerAddr = "p:3"
	_, s2, err := decodePersisted(encodePersisted("a", NewState(r)))
	if got, _ := s2.Get("a"); err != nil || got.PeerAddrOf() != "p:3" {
		t.Fatalf("peer address round trip = %+v, %v", got, err)
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add([]byte{})
	f.Add(EncodeState(State{}))
	f.Add(EncodeState(NewState(rec("a", StatusActive, 1), rec("b", StatusRemoved, 1<<40))))
	f.Add(EncodeState(NewState(placedRec("a", StatusActive, 3, 7, 0), placedRec("b", StatusRemoved, 9, 2, 8),
		placedRec("c", StatusJoining, 1, 0, 0))))
	f.Add([]byte{'S', 3, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeState(b)
		if err != nil {
			return
		}
		// Canonical: what decodes re-encodes to the same bytes.
		if enc := EncodeState(s); !bytes.Equal(enc, b) {
			t.Fatalf("EncodeState(DecodeState(%x)) = %x", b, enc)
		}
		if s.Merge(s).Hash() != s.Hash() {
			t.Fatal("merge with itself changed the state")
		}
	})
}

func FuzzDecodeMeta(f *testing.F) {
	b, _ := EncodeMeta(Meta{NodeID: "n1", Zone: "z", GRPCAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:2"})
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{'M', 1, 0xff, 0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			return
		}
		enc, err := EncodeMeta(m)
		if err != nil {
			t.Fatalf("EncodeMeta(DecodeMeta(%x)): %v", b, err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("EncodeMeta(DecodeMeta(%x)) = %x", b, enc)
		}
	})
}
