package server

import (
	"strings"
	"testing"
	"time"
)

func TestUIPeerSignVerify(t *testing.T) {
	key := uiPeerKey([]byte("0123456789abcdef"))
	now := time.Unix(1_700_000_000, 0)
	v := signUIPeer(key, "node0", "node1", now)
	if from, err := verifyUIPeer(key, "node1", v, now.Add(10*time.Second)); err != nil || from != "node0" {
		t.Fatalf("verify own header: from %q, err %v; want node0, nil", from, err)
	}
	other := uiPeerKey([]byte("fedcba9876543210"))
	parts := strings.Split(v, " ")
	tests := []struct {
		name string
		key  []byte
		self string
		v    string
		at   time.Time
		want string
	}{
		{"another node's header", key, "node2", v, now, "bad MAC"},
		{"another cluster's key", other, "node1", v, now, "bad MAC"},
		{"no key", nil, "node1", v, now, "no cluster key"},
		{"too old", key, "node1", v, now.Add(31 * time.Second), "more than"},
		{"from the future", key, "node1", v, now.Add(-31 * time.Second), "more than"},
		{"sender changed", key, "node1", "node9 " + parts[1] + " " + parts[2], now, "bad MAC"},
		{"time changed", key, "node1", parts[0] + " " + "1700000001 " + parts[2], now, "bad MAC"},
		{"not hex", key, "node1", parts[0] + " " + parts[1] + " zz", now, "malformed MAC"},
		{"two fields", key, "node1", "node0 1", now, "malformed header"},
		{"huge", key, "node1", strings.Repeat("a", 600), now, "too long"},
	}
	for _, tt := range tests {
		if _, err := verifyUIPeer(tt.key, tt.self, tt.v, tt.at); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if uiPeerKey(nil) != nil {
		t.Errorf("a node without a gossip key has a peer key")
	}
}

// FuzzVerifyUIPeer: header values from the network never panic, and the
// only ones that pass are the signed one and its time written otherwise
// (a leading zero or sign), which names the same instant.
func FuzzVerifyUIPeer(f *testing.F) {
	key := uiPeerKey([]byte("0123456789abcdef"))
	now := time.Unix(1_700_000_000, 0)
	signed := signUIPeer(key, "node0", "node1", now)
	f.Add(signed)
	f.Add("node0 1700000000 00")
	f.Add("  ")
	f.Add("a -9223372036854775808 ff")
	f.Fuzz(func(t *testing.T, v string) {
		from, err := verifyUIPeer(key, "node1", v, now)
		if err != nil {
			return
		}
		parts := strings.Split(v, " ")
		if from != "node0" || !strings.EqualFold(parts[2], strings.Split(signed, " ")[2]) {
			t.Fatalf("accepted %q, which node0 did not sign", v)
		}
	})
}
