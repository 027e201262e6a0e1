package server_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/server/localcluster"
	"github.com/chorusdb/chorus/vclock"
)

// TestReplicaCopyReadsOneNodeWithoutRepair checks GET /v1/replica/{key}:
// each node answers with its own copy (equal digests once a write reached
// all three), a key a node lacks is found:false, and reading a copy
// repairs nothing: a value merged into one node alone stays there only.
func TestReplicaCopyReadsOneNodeWithoutRepair(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node loopback cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: 3, Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lc.Close() }()
	url := func(i int, key string) string { return "http://" + lc.Nodes[i].Addrs().HTTP + "/v1/replica/" + key }
	copyAt := func(i int, key string) map[string]any {
		t.Helper()
		code, v := doJSON(t, "GET", url(i, key), "")
		if code != http.StatusOK {
			t.Fatalf("GET %s = %d %v", url(i, key), code, v)
		}
		return v
	}

	req, _ := http.NewRequest("PUT", "http://"+lc.Nodes[0].Addrs().HTTP+"/v1/kv/k?w=3", strings.NewReader("v1"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode >= 300 {
		t.Fatalf("put k with w=3: %v %v", resp, err)
	}
	resp.Body.Close()
	var digest any
	for i := range 3 {
		c := copyAt(i, "k")
		if c["found"] != true || c["replica"] != true || c["node"] != lc.Nodes[i].ID() {
			t.Fatalf("node%d's copy of k = %v, want found, a replica, named %s", i, c, lc.Nodes[i].ID())
		}
		sibs := c["siblings"].([]any)
		if len(sibs) != 1 || sibs[0].(map[string]any)["value"] != base64.StdEncoding.EncodeToString([]byte("v1")) {
			t.Fatalf("node%d's siblings of k = %v, want one with v1", i, sibs)
		}
		if i > 0 && c["digest"] != digest {
			t.Fatalf("node%d's digest %v differs from node0's %v after a write that reached all", i, c["digest"], digest)
		}
		digest = c["digest"]
	}

	// A value only node2 holds: reading the others' copies must not
	// bring it to them.
	n2 := lc.Nodes[2]
	only := vclock.NewSet(n2.ID(), vclock.Value{Data: []byte("lonely"), Timestamp: time.Now().UnixNano()})
	if _, _, err := n2.Storage().Merge(ctx, n2.Ring().Partition([]byte("solo")), []byte("solo"), only, true); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		for i := range 2 {
			if c := copyAt(i, "solo"); c["found"] != false {
				t.Fatalf("node%d holds solo after copy reads: %v; a copy read repaired", i, c)
			}
		}
	}
	if c := copyAt(2, "solo"); c["found"] != true {
		t.Fatalf("node2's copy of solo = %v, want found", c)
	}

	if code, v := doJSON(t, "GET", url(0, "k")+"?r=1", ""); code != http.StatusBadRequest || v["error"] == nil {
		t.Fatalf("GET with a query = %d %v, want 400", code, v)
	}
	if code, v := doJSON(t, "GET", url(0, strings.Repeat("x", 70000)), ""); code != http.StatusBadRequest && code != http.StatusRequestURITooLong && code != 431 {
		t.Fatalf("GET with a huge key = %d %v, want a 4xx", code, v)
	}
	if code, _ := doJSON(t, "PUT", url(0, "k"), ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT /v1/replica/k = %d, want 405", code)
	}
}
