package vclock

import (
	"math/rand"
	"testing"
)

// TestDigestOfEqualSetsIsEqual merges the replicas of random histories in
// different orders: equal sets must digest equally (the encoding is
// canonical, so the digest depends on the set alone), and sets that
// differ must digest differently.
func TestDigestOfEqualSetsIsEqual(t *testing.T) {
	seed := int64(20261202)
	rng := rand.New(rand.NewSource(seed))
	for i := range 2000 {
		h := newHistory(rng.Int63(), "a", "b", "c", "d")
		for range rng.Intn(40) {
			h.step()
		}
		a, b, c := h.replicas["a"], h.replicas["b"], h.replicas["c"]
		x, y := Sync(Sync(a, b), c), Sync(c, Sync(b, a))
		if !x.Equal(y) {
			t.Fatalf("seed %d case %d: Sync orders disagree", seed, i)
		}
		if x.Digest() != y.Digest() {
			t.Fatalf("seed %d case %d: equal sets have digests %x and %x", seed, i, x.Digest(), y.Digest())
		}
		if got, want := DigestEncoded(x.Encode()), x.Digest(); got != want {
			t.Fatalf("seed %d case %d: DigestEncoded(Encode) = %x, Digest = %x", seed, i, got, want)
		}
		if !a.Equal(b) && a.Digest() == b.Digest() {
			t.Fatalf("seed %d case %d: different sets share digest %x", seed, i, a.Digest())
		}
		if !a.IsEmpty() && a.Digest() == 0 {
			t.Fatalf("seed %d case %d: a non-empty set digests to 0", seed, i)
		}
	}
}

func TestDigestOfNothing(t *testing.T) {
	if d := (Set{}).Digest(); d != 0 {
		t.Errorf("zero Set digest = %x, want 0", d)
	}
	if d := DigestEncoded(nil); d != 0 {
		t.Errorf("DigestEncoded(nil) = %x, want 0 (an absent key)", d)
	}
	if d := DigestEncoded((Set{}).Encode()); d != 0 {
		t.Errorf("DigestEncoded of the zero Set's encoding = %x, want 0", d)
	}
	s := NewSet("a", val("v"))
	if s.Digest() == 0 || s.Digest() == NewSet("a", val("w")).Digest() {
		t.Errorf("digests of one-sibling sets: %x, %x", s.Digest(), NewSet("a", val("w")).Digest())
	}
}
