package bench

import (
	"testing"

	"github.com/chorusdb/chorus/chorustest"
)

// TestJSONStyle checks the JSON reports (chorus bench -o json, --out, and
// the .json files of compare, failover, staleness and experiment) against
// the one JSON style of docs/api.md: snake_case keys, durations in "_ms"
// numbers.
func TestJSONStyle(t *testing.T) {
	chorustest.JSONStyle(t, Report{}, []*CompareRun{}, Comparison{}, []*FailoverRun{}, ClusterStaleness{}, []*SettingResult{})
}
