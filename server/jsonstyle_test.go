package server

import (
	"testing"

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
