package server

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// chromium returns the headless browser to run, or skips: $CHROMIUM, or
// chromium on PATH (scripts/install-chromium.sh installs it; CI runs this
// test again from scripts/ui-test.sh once it has).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (scripts/install-chromium.sh)")
	}
	return p
}

// The page's script renders every part of a state in a real browser:
// a down member with its error, a transfer's progress bar and ETA, hints
// per target, anti-entropy pairs, and text from the network as text
// (an error holding markup is shown, not parsed).
func TestUIBrowserRendersState(t *testing.T) {
	if testing.Short() {
		t.Skip("runs headless Chromium")
	}
	bin := chromium(t)
	sum := func(id string) *uiSummary {
		return &uiSummary{Node: id, Version: "v9.9.9", UptimeMS: 3_600_000,
			Rates: uiRates{WindowMS: 2000, Gets: 120, Puts: 30, GetP99MS: 1.5, PutP99MS: 150, Sloppy: 0.5},
			Hints: uiHints{Queued: 12, Targets: []uiHintTarget{{Target: "node2", Queued: 12, QueuedBytes: 2048, OldestAgeMS: 65_000,
				LastError: "dial node2: <b>refused</b>"}}},
			Transfers: uiTransfers{Running: 1, List: []uiTransfer{{Partition: 17, State: "running", Source: "node1",
				Keys: 4200, Progress: 0.42, KeysPerSec: 800, ETAMS: 7000}}},
			AntiEntropy: uiAAE{Enabled: true, Peers: []uiAAEPeer{{Peer: "node1", Partitions: 192, Exchanged: 190,
				LastAgoMS: 1000, OldestSuccessAgoMS: 120_000, Repaired: 33}}},
		}
	}
	state := uiState{Node: "node0", Partitions: 8, Replicas: 2, RingVersion: 123456789,
		Members: []uiMember{
			{ID: "node0", Zone: "east", Status: "active", Alive: true, HTTPAddr: "10.0.0.1:8080", Primaries: 3, Replicas: 6},
			{ID: "node1", Zone: "west", Status: "leaving", Alive: true, HTTPAddr: "10.0.0.2:8080", Primaries: 3, Replicas: 5},
			{ID: "node2", Zone: "west", Status: "active", Alive: false, HTTPAddr: "10.0.0.3:8080", Primaries: 2, Replicas: 5},
		},
		Owners: [][]int{{0, 1}, {1, 2}, {2, 0}, {0, 1}, {1, 2}, {2, 0}, {0, 1}, {1, 0}},
		Nodes: map[string]uiNodeView{"node0": {Summary: sum("node0")}, "node1": {Summary: sum("node1")},
			"node2": {Error: "unreachable after 1.5s: <i>timeout</i>"}},
	}
	routes := &uiRoutes{summary: func(context.Context) any { return state.Nodes["node0"].Summary },
		state: func(context.Context, string) any { return state }}
	srv := httptest.NewServer(newHTTPHandler(&fakeKV{}, nil, nil, httpConfig{UI: routes}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=3000", "--dump-dom", srv.URL+"/ui/")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s --dump-dom: %v", bin, err)
	}
	dom := string(out)
	for _, want := range []string{
		`data-rendered="1"`,
		`<tr class="down"><td class="node" data-node="node2">`,
		`unreachable after 1.5s: &lt;i&gt;timeout&lt;/i&gt;`, // text, not markup
		`dial node2: &lt;b&gt;refused&lt;/b&gt;`,             // the hint's last error
		`<span class="badge leaving">leaving</span>`,         // ownership status
		`<em>42%</em>`,                   // the transfer's progress bar
		`<td>7s</td>`,                    // its ETA
		`→ node2`,                        // hints per target
		`node0 ↔ node1`,                  // an anti-entropy pair
		`190 / 192`,                      // its partitions exchanged
		`v9.9.9`,                         // the version
		`data-owner="node2"`,             // the ring drawing
		`<td class="num">150</td>`,       // node0's req/s (120+30)
		`150 ms`,                         // put p99
		`<div class="value">2 / 3</div>`, // nodes up
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("rendered page:\n%s", dom)
	}
}
