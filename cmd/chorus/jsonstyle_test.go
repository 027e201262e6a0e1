package main

import (
	"testing"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/client"
	"github.com/chorusdb/chorus/version"
)

// TestJSONStyle checks what -o json prints against the one JSON style of
// docs/api.md (the bench reports are checked in package bench).
func TestJSONStyle(t *testing.T) {
	chorustest.JSONStyle(t, getJSON{}, writeJSONOut{}, client.ClusterInfo{}, map[string]transferView{}, version.Info{})
}
