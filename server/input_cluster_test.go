package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/storage"
)

// TestNAboveTheReplicationFactorIsRefused: on five nodes keeping three
// replicas per key, n=4 and n=5 are refused with 400 naming both numbers
// (they used to write to four or five nodes); n=2 is served.
func TestNAboveTheReplicationFactorIsRefused(t *testing.T) {
	c := newTestCluster(t, 13, five...)
	h := c.Nodes["a"].HTTPHandler()
	for _, q := range []string{"n=4", "n=5", "n=4&w=1&r=1"} {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			rec := server.DoHTTP(t, h, method, "/v1/kv/k?"+q, strings.NewReader("v"), nil)
			want := "exceeds the cluster's replication factor 3"
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("%s ?%s: %d %q, want 400", method, q, rec.Code, rec.Body)
			}
			if msg := server.ErrorOf(t, rec); !strings.Contains(msg, q[:3]+" "+want) {
				t.Fatalf("%s ?%s: error %q, want it to say %q", method, q, msg, q[:3]+" "+want)
			}
		}
	}
	if rec := server.DoHTTP(t, h, "PUT", "/v1/kv/k?n=2", strings.NewReader("v"), nil); rec.Code != http.StatusNoContent {
		t.Fatalf("PUT ?n=2: %d %q, want 204", rec.Code, rec.Body)
	}
	if rec := server.DoHTTP(t, h, "GET", "/v1/kv/k?n=2&r=1", nil, nil); rec.Code != http.StatusOK {
		t.Fatalf("GET ?n=2: %d %q, want 200", rec.Code, rec.Body)
	}
}

// TestKeyTooLongIsBadRequestForEveryOp: a key one byte over the storage
// limit is refused with 400 by GET as by PUT and DELETE, before any
// replica is asked (GET used to fan out and answer 503 with the replicas'
// refusals as a quorum error); a key at the limit is served.
func TestKeyTooLongIsBadRequestForEveryOp(t *testing.T) {
	c := newTestCluster(t, 14, "a", "b", "c")
	h := c.Nodes["a"].HTTPHandler()
	limit := storage.DefaultOptions().MaxKeyLen
	long := "/v1/kv/" + strings.Repeat("k", limit+1)
	for _, method := range []string{"GET", "PUT", "DELETE"} {
		rec := server.DoHTTP(t, h, method, long, strings.NewReader("v"), nil)
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("%s of a %d-byte key: %d %q, want 400", method, limit+1, rec.Code, rec.Body)
		}
		if msg := server.ErrorOf(t, rec); !strings.Contains(msg, "key too long") {
			t.Fatalf("%s of a %d-byte key: error %q, want it to say key too long", method, limit+1, msg)
		}
	}
	atLimit := "/v1/kv/" + strings.Repeat("k", limit)
	if rec := server.DoHTTP(t, h, "PUT", atLimit, strings.NewReader("v"), nil); rec.Code != http.StatusNoContent {
		t.Fatalf("PUT of a %d-byte key: %d %q, want 204", limit, rec.Code, rec.Body)
	}
	if rec := server.DoHTTP(t, h, "GET", atLimit, nil, nil); rec.Code != http.StatusOK {
		t.Fatalf("GET of a %d-byte key: %d %q, want 200", limit, rec.Code, rec.Body)
	}
}
