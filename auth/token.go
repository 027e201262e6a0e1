package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// TokenPrefix starts every token NewToken makes, so that a token pasted
// into the wrong place (a log, a repository) is recognisable as one.
const TokenPrefix = "chorus_"

// tokenBytes is the entropy of a token: 256 bits, which no guessing
// reaches, so a fast hash is enough to store it (see the package
// documentation).
const tokenBytes = 32

// NewToken returns a new random bearer token: TokenPrefix followed by
// the unpadded base64url of 32 bytes from crypto/rand.
func NewToken() string {
	b := make([]byte, tokenBytes)
	// crypto/rand.Read never fails (it crashes the program rather than
	// return weak bytes), so there is no error to handle.
	_, _ = rand.Read(b)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the SHA-256 of token's text, as the auth file keeps
// it.
func HashToken(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// HashTokenHex returns HashToken as 64 lower-case hex digits, the form of
// the auth file's sha256 key.
func HashTokenHex(token string) string {
	h := HashToken(token)
	return hex.EncodeToString(h[:])
}

// lookupToken returns the index in entries of the entry whose hash is
// token's, or -1. It compares with every entry, always all of them, in
// constant time, so its duration depends on the number of entries only:
// not on which one matched, nor on how many bytes of a wrong guess's hash
// agreed with a stored one.
func lookupToken(entries []TokenEntry, token string) int {
	h := HashToken(token)
	found := -1
	for i := range entries {
		eq := subtle.ConstantTimeCompare(h[:], entries[i].SHA256[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	return found
}
