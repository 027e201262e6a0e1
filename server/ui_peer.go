package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A node asks its peers for their dashboard summaries on their client
// HTTP port, where a user's client certificate cannot be passed on and a
// node's certificate is no identity. So the asking node, having checked
// the user's read role itself, vouches for the request with a MAC keyed
// by the cluster's gossip key, which every node holds and no client does.
// The header is good for GET /v1/ui/node on the node it names, for
// uiPeerSkew either side of its time, and for nothing else.
const (
	headerUIPeer = "X-Chorus-UI-Peer"
	uiPeerSkew   = 30 * time.Second
	// maxUIPeerHeader bounds the header parsed: from, to, time and MAC.
	maxUIPeerHeader = 512
)

// uiPeerKey derives the MAC key from the gossip key, so the key that
// encrypts gossip is never used as is for anything else.
func uiPeerKey(gossipKey []byte) []byte {
	if len(gossipKey) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, gossipKey)
	m.Write([]byte("chorus ui peer v1"))
	return m.Sum(nil)
}

func uiPeerMAC(key []byte, from, to string, unix int64) []byte {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s\x00%s\x00%d", from, to, unix)
	return m.Sum(nil)
}

// signUIPeer returns the header value by which node from asks node to at now.
func signUIPeer(key []byte, from, to string, now time.Time) string {
	unix := now.Unix()
	return from + " " + strconv.FormatInt(unix, 10) + " " + hex.EncodeToString(uiPeerMAC(key, from, to, unix))
}

// verifyUIPeer checks a header value for node self at now: made with key,
// for self, within the skew. It returns the asking node.
func verifyUIPeer(key []byte, self, v string, now time.Time) (string, error) {
	if len(key) == 0 {
		return "", errors.New("no cluster key")
	}
	if len(v) > maxUIPeerHeader {
		return "", errors.New("header too long")
	}
	parts := strings.Split(v, " ")
	if len(parts) != 3 {
		return "", errors.New("malformed header")
	}
	from := parts[0]
	unix, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", errors.New("malformed time")
	}
	mac, err := hex.DecodeString(parts[2])
	if err != nil {
		return "", errors.New("malformed MAC")
	}
	if !hmac.Equal(mac, uiPeerMAC(key, from, self, unix)) {
		return "", errors.New("bad MAC")
	}
	if d := now.Sub(time.Unix(unix, 0)); d > uiPeerSkew || d < -uiPeerSkew {
		return "", fmt.Errorf("made %v from now, more than %v", d.Round(time.Second), uiPeerSkew)
	}
	return from, nil
}

// uiPeerCheck returns the check newHTTPHandler runs before authorization:
// a request of GET /v1/ui/node vouched for by a peer passes.
func uiPeerCheck(key []byte, self func() string) func(r *http.Request, pattern string) bool {
	return func(r *http.Request, pattern string) bool {
		v := r.Header.Get(headerUIPeer)
		if v == "" || len(key) == 0 || pattern != "GET /v1/ui/node" {
			return false
		}
		_, err := verifyUIPeer(key, self(), v, time.Now())
		return err == nil
	}
}
