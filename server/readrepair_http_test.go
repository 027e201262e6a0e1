package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chorusdb/chorus/transport/pb"
)

// TestHTTPReadRepairParam: read_repair=digest and read_repair=all reach
// the backend; any other value is refused with a 400 JSON error naming
// it, and the backend is not called.
func TestHTTPReadRepairParam(t *testing.T) {
	for _, mode := range []string{"digest", "all"} {
		kv := &fakeKV{get: &pb.GetResponse{Found: true, Siblings: []*pb.Sibling{{Value: []byte("v")}}, Info: info}}
		rec := do(t, kv, "GET", "/v1/kv/k?read_repair="+mode, nil, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("read_repair=%s: code %d %q, want 200", mode, rec.Code, rec.Body)
		}
		if got := kv.reqs[0].(*pb.GetRequest).GetQuorum().GetReadRepair(); got != mode {
			t.Errorf("read_repair=%s reached the backend as %q", mode, got)
		}
	}
	for _, bad := range []string{"bogus", "", "ALL"} {
		kv := &fakeKV{}
		rec := do(t, kv, "GET", "/v1/kv/k?read_repair="+bad, nil, nil)
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("read_repair=%q: code %d, want 400", bad, rec.Code)
		}
		if msg := errorOf(t, rec); !strings.Contains(msg, "read_repair") {
			t.Errorf("read_repair=%q: error %q does not name the parameter", bad, msg)
		}
		if kv.count() != 0 {
			t.Errorf("read_repair=%q: backend was called", bad)
		}
	}
}
