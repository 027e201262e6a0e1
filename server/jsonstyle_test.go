package server

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/repair"
)

// TestJSONStyle checks every body the HTTP API writes against the one JSON
// style of docs/api.md: snake_case keys, durations in "_ms" numbers.
func TestJSONStyle(t *testing.T) {
	chorustest.JSONStyle(t, Status{}, memberView{}, ringView{}, siblingsBody{}, errorBody{},
		LegsView{}, []repair.PairStatus{}, handoff.Status{})
}

// The legs view travels in milliseconds and comes back to the nanosecond.
func TestLegsJSONRoundTrip(t *testing.T) {
	in := LegsView{Node: "n1", LegSamples: LegSamples{W: []time.Duration{1, 1500 * time.Microsecond, 3 * time.Second},
		A: []time.Duration{}, L: []time.Duration{231044}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"w_ms":[0.000001,1.5,3000]`) || !strings.Contains(string(b), `"r_ms":[]`) {
		t.Errorf("legs JSON %s, want w_ms in milliseconds and [] for no samples", b)
	}
	var out LegsView
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Node != "n1" || !slices.Equal(out.W, in.W) || !slices.Equal(out.L, in.L) || len(out.R) != 0 {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
}
