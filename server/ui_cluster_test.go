package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/auth"
	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/server/localcluster"
)

// uiState is the part of GET /v1/ui/state the tests read, decoded as a
// browser would: from the JSON, by its documented keys.
type uiState struct {
	Node       string `json:"node"`
	Partitions int    `json:"partitions"`
	Replicas   int    `json:"replicas"`
	Members    []struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Alive     bool   `json:"alive"`
		HTTPAddr  string `json:"http_addr"`
		Primaries int    `json:"primaries"`
		Replicas  int    `json:"replicas"`
	} `json:"members"`
	Owners [][]int `json:"owners"`
	Nodes  map[string]struct {
		Error   string `json:"error"`
		Summary *struct {
			Node    string `json:"node"`
			Version string `json:"version"`
			Totals  struct {
				Gets, Puts, Deletes uint64
			} `json:"totals"`
			Rates struct {
				Warming  bool    `json:"warming"`
				WindowMS float64 `json:"window_ms"`
				Gets     float64 `json:"gets_per_sec"`
				Puts     float64 `json:"puts_per_sec"`
				PutP99MS float64 `json:"put_p99_ms"`
				GetP99MS float64 `json:"get_p99_ms"`
			} `json:"rates"`
			AntiEntropy struct {
				Enabled bool `json:"enabled"`
			} `json:"anti_entropy"`
		} `json:"summary"`
	} `json:"nodes"`
}

func getUIState(t *testing.T, addr, token string) (uiState, time.Duration) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+addr+"/v1/ui/state", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	took := time.Since(start)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/ui/state on %s: %d %s", addr, resp.StatusCode, b)
	}
	var s uiState
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("GET /v1/ui/state: %v in %s", err, b)
	}
	return s, took
}

func httpDo(t *testing.T, method, url, token string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader("v"))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// One node's /v1/ui/state shows the whole cluster: the members, a ring
// whose rows are each partition's N distinct primaries, and every node's
// own counts of the traffic it served, gathered over HTTP; a node that
// stops is shown as not answering, and the others still are.
func TestUIStateOfACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node loopback cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: 3, Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lc.Close() }()
	addr := func(i int) string { return lc.Nodes[i].Addrs().HTTP }

	// Known traffic: 30 puts coordinated by node1, 20 gets by node2.
	for i := range 30 {
		if code := httpDo(t, "PUT", fmt.Sprintf("http://%s/v1/kv/k%d", addr(1), i), ""); code != 204 {
			t.Fatalf("put k%d: %d", i, code)
		}
	}
	for i := range 20 {
		if code := httpDo(t, "GET", fmt.Sprintf("http://%s/v1/kv/k%d", addr(2), i), ""); code != 200 {
			t.Fatalf("get k%d: %d", i, code)
		}
	}

	s, _ := getUIState(t, addr(0), "")
	if s.Node != "node0" || s.Partitions != 256 || s.Replicas != 3 || len(s.Owners) != 256 {
		t.Fatalf("state: node %q, %d partitions, N=%d, %d owner rows; want node0, 256, 3, 256", s.Node, s.Partitions, s.Replicas, len(s.Owners))
	}
	var ids []string
	primaries := 0
	for _, m := range s.Members {
		ids = append(ids, m.ID)
		primaries += m.Primaries
		if !m.Alive || m.Status != "active" || m.HTTPAddr == "" || m.Replicas != 256 {
			t.Errorf("member %+v: want alive, active, an HTTP address, replica of all 256 partitions", m)
		}
	}
	if !slices.Equal(ids, []string{"node0", "node1", "node2"}) || primaries != 256 {
		t.Fatalf("members %v with %d first primaries, want node0..node2 and 256", ids, primaries)
	}
	for p, row := range s.Owners {
		if len(row) != 3 || row[0] == row[1] || row[1] == row[2] || row[0] == row[2] {
			t.Fatalf("partition %d's owners %v: want 3 distinct members", p, row)
		}
	}
	want := map[string][2]uint64{"node0": {0, 0}, "node1": {0, 30}, "node2": {20, 0}}
	for id, w := range want {
		v := s.Nodes[id]
		if v.Summary == nil {
			t.Fatalf("%s: no summary (%s)", id, v.Error)
		}
		if got := v.Summary.Totals; got.Gets != w[0] || got.Puts != w[1] {
			t.Errorf("%s counted %d gets and %d puts, want %d and %d", id, got.Gets, got.Puts, w[0], w[1])
		}
		if v.Summary.Node != id || v.Summary.Version == "" || !v.Summary.AntiEntropy.Enabled {
			t.Errorf("%s: summary of %q, version %q, anti-entropy %v", id, v.Summary.Node, v.Summary.Version, v.Summary.AntiEntropy.Enabled)
		}
	}

	// Rates need two samples: more puts on node1 between two polls.
	for i := range 10 {
		httpDo(t, "PUT", fmt.Sprintf("http://%s/v1/kv/r%d", addr(1), i), "")
	}
	s, _ = getUIState(t, addr(0), "")
	r := s.Nodes["node1"].Summary.Rates
	if r.Warming || r.WindowMS <= 0 || r.Puts <= 0 || r.PutP99MS <= 0 {
		t.Fatalf("node1's rates after 10 puts between two polls: %+v; want puts/s and a put p99", r)
	}
	// Exactly the 10 puts made between the polls (to the rounding of the
	// figures in the JSON).
	if n := r.Puts * r.WindowMS / 1000; math.Abs(n-10) > 0.05 {
		t.Fatalf("node1: %v puts/s over %v ms is %.2f puts, want the 10 made", r.Puts, r.WindowMS, n)
	}

	if err := lc.Nodes[2].Close(); err != nil {
		t.Fatal(err)
	}
	chorustest.Eventually(t, "node2 shown as not answering", func() bool {
		s, _ = getUIState(t, addr(0), "")
		v := s.Nodes["node2"]
		return v.Summary == nil && v.Error != ""
	})
	if s.Nodes["node1"].Summary == nil {
		t.Fatalf("node1 not shown once node2 stopped: %s", s.Nodes["node1"].Error)
	}
}

// With auth on, peers are asked with a MAC of the gossip key, not with
// the user's token, and answer; without credentials nobody gets a node's
// summary.
func TestUIStateWithAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node loopback cluster")
	}
	const reader = "chorus_reader-token"
	table := auth.NewTable(&auth.File{Tokens: []auth.TokenEntry{
		{Name: "r", SHA256: auth.HashToken(reader), Roles: auth.Roles(auth.Read)},
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: 3, Dir: t.TempDir(), Logger: quiet,
		Configure: func(_ int, c *server.Config) {
			c.GossipKey = []byte("0123456789abcdef")
			c.Auth = &server.AuthConfig{Authorizer: auth.NewStaticAuthorizer(table), PlaintextTokens: true}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lc.Close() }()
	a0, a1 := lc.Nodes[0].Addrs().HTTP, lc.Nodes[1].Addrs().HTTP
	if code := httpDo(t, "GET", "http://"+a0+"/v1/ui/state", ""); code != 401 {
		t.Fatalf("state without a token: %d, want 401", code)
	}
	if code := httpDo(t, "GET", "http://"+a1+"/v1/ui/node", ""); code != 401 {
		t.Fatalf("a node's summary without a token: %d, want 401", code)
	}
	s, _ := getUIState(t, a0, reader)
	for _, id := range []string{"node0", "node1", "node2"} {
		if v := s.Nodes[id]; v.Summary == nil {
			t.Errorf("%s: no summary with auth on: %s", id, v.Error)
		}
	}
}

// Over TLS, as `chorus demo` runs: a user with a client certificate, which
// cannot be passed on, still sees every node's summary, since the serving
// node asks its peers over TLS with the gossip key's MAC.
func TestUIStateOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node loopback cluster")
	}
	dir := t.TempDir()
	opts := certs.CreateOptions{Dir: dir}
	for _, step := range []func() error{
		func() error { return certs.CreateCA(opts) },
		func() error { return certs.CreateNode(opts, "node", []string{"127.0.0.1"}) },
		func() error { return certs.CreateClient(opts, "root") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	creds, err := certs.LoadNode(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	key, err := creds.GossipKey()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lc, err := localcluster.Start(ctx, localcluster.Config{Nodes: 3, Dir: t.TempDir(), Logger: quiet,
		Configure: func(_ int, c *server.Config) { c.TLS, c.GossipKey = creds, key }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lc.Close() }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS(t, dir, "root")}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + lc.Nodes[0].Addrs().HTTP + "/v1/ui/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s uiState
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/ui/state with root's certificate: %d, %v", resp.StatusCode, err)
	}
	for _, id := range []string{"node0", "node1", "node2"} {
		if v := s.Nodes[id]; v.Summary == nil {
			t.Errorf("%s: no summary over TLS: %s", id, v.Error)
		}
	}
}
