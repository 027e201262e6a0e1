package vclock

import (
	"bytes"

	"github.com/cespare/xxhash/v2"
)

// emptyEncoding is the encoding of the zero Set: no clock, no siblings.
var emptyEncoding = []byte{formatV1, 0, 0}

// Digest returns a 64-bit digest of the set: the xxhash of its canonical
// encoding, so that equal sets have equal digests on every node and a
// replica can compute the digest of a stored set from its bytes, without
// decoding it (DigestEncoded). The zero Set, which is also what a replica
// without the key holds, digests to 0; every other set to a non-zero
// value. Different sets have equal digests with probability about 2^-64.
func (s Set) Digest() uint64 {
	var buf [256]byte
	return DigestEncoded(s.AppendEncode(buf[:0]))
}

// DigestEncoded is Digest of a set given in its canonical encoding (as
// Encode returns it and storage keeps it). Empty input, standing for a key
// that is absent, digests to 0, as the zero Set does.
func DigestEncoded(b []byte) uint64 {
	if len(b) == 0 || bytes.Equal(b, emptyEncoding) {
		return 0
	}
	if h := xxhash.Sum64(b); h != 0 {
		return h
	}
	return 1 // 0 stands for the empty set alone
}
