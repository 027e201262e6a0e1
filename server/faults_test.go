package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/localcluster"
)

// startFaultNode starts a one-node cluster on disk, with fault injection
// as given, and returns it and its HTTP base URL.
func startFaultNode(t *testing.T, inject bool) (*server.Node, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: 1, Dir: t.TempDir(), Logger: quiet,
		Configure: func(_ int, c *server.Config) { c.FaultInjection = inject }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lc.Close() })
	return lc.Nodes[0], "http://" + lc.Nodes[0].Addrs().HTTP
}

func doJSON(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %d with a body that is not JSON: %v", method, url, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func TestFaultsOffsetTheWallClock(t *testing.T) {
	n, base := startFaultNode(t, true)
	code, v := doJSON(t, "GET", base+"/v1/faults", "")
	if code != 200 || v["clock_offset"] != "0s" || v["disk"] != "none" {
		t.Fatalf("GET /v1/faults = %d %v, want 200, offset 0s, disk none", code, v)
	}
	code, v = doJSON(t, "POST", base+"/v1/faults", `{"clock_offset":"-2h"}`)
	if code != 200 || v["clock_offset"] != "-2h0m0s" {
		t.Fatalf("POST offset = %d %v, want 200 and -2h0m0s", code, v)
	}
	put := func(key string) int {
		req, _ := http.NewRequest("PUT", base+"/v1/kv/"+key, strings.NewReader("v"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := put("k"); c != http.StatusNoContent && c != http.StatusOK {
		t.Fatalf("put with the clock offset: status %d", c)
	}
	set, err := n.Storage().Get(context.Background(), n.Ring().Partition([]byte("k")), []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	stamp := time.Unix(0, set.Values()[0].Timestamp)
	if lag := time.Since(stamp); lag < 119*time.Minute || lag > 121*time.Minute {
		t.Fatalf("the write was stamped %v, %v before now; want the 2 h offset", stamp, lag)
	}
}

func TestFaultsFailAndSlowTheDisk(t *testing.T) {
	_, base := startFaultNode(t, true)
	put := func(key string) (int, time.Duration) {
		start := time.Now()
		req, _ := http.NewRequest("PUT", base+"/v1/kv/"+key+"?timeout=3s", strings.NewReader("v"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	if code, v := doJSON(t, "POST", base+"/v1/faults", `{"disk":"slow","sync_delay":"300ms"}`); code != 200 || v["disk"] != "slow" || v["sync_delay"] != "300ms" {
		t.Fatalf("POST slow = %d %v", code, v)
	}
	// A lower bound only: the injected delay is a floor of a durable
	// write's latency, whatever the machine's speed.
	if code, took := put("slow"); code >= 300 || took < 300*time.Millisecond {
		t.Fatalf("durable put on a slow disk: status %d after %v, want success after at least 300ms", code, took)
	}
	if code, v := doJSON(t, "POST", base+"/v1/faults", `{"disk":"full"}`); code != 200 || v["disk"] != "full" {
		t.Fatalf("POST full = %d %v", code, v)
	}
	if code, _ := put("full"); code < 500 {
		t.Fatalf("durable put on a full disk: status %d, want a failure", code)
	}
	// What reached the disk is unknown after a failed write: the store
	// refuses writes until the node restarts, healed disk or not.
	doJSON(t, "POST", base+"/v1/faults", `{"disk":"none"}`)
	if code, _ := put("healed"); code < 500 {
		t.Fatalf("put after the disk healed, before a restart: status %d, want a failure", code)
	}
}

func TestFaultsRejectBadInput(t *testing.T) {
	_, base := startFaultNode(t, true)
	for _, body := range []string{`{"disk":"melted"}`, `{"clock_offset":"yesterday"}`,
		`{"sync_delay":"-1s","disk":"slow"}`, `{"sync_delay":"2h","disk":"slow"}`, `{"nope":1}`, `not json`} {
		code, v := doJSON(t, "POST", base+"/v1/faults", body)
		if code != http.StatusBadRequest || v["error"] == nil {
			t.Errorf("POST %s = %d %v, want 400 with an error", body, code, v)
		}
	}
	if code, v := doJSON(t, "GET", base+"/v1/faults", ""); v["disk"] != "none" || v["clock_offset"] != "0s" {
		t.Errorf("after bad input the faults are %d %v, want none changed", code, v)
	}
}

func TestFaultsAbsentByDefault(t *testing.T) {
	_, base := startFaultNode(t, false)
	code, _ := doJSON(t, "POST", base+"/v1/faults", `{"disk":"full"}`)
	if code != http.StatusNotFound {
		t.Fatalf("POST /v1/faults on a node without fault injection = %d, want 404", code)
	}
}
