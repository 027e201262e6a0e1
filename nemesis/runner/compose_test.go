package runner

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chorusdb/chorus/nemesis/compose"
	"github.com/chorusdb/chorus/nemesis/inject"
)

func TestComposeConfig(t *testing.T) {
	c := DefaultConfig()
	c.Dir = t.TempDir()
	cc := compose.DefaultConfig()
	c.Compose = &cc
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults with compose: %v", err)
	}
	c.Nodes = 3
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "compose cluster has 5") {
		t.Errorf("3 nodes of a 5-node compose cluster: %v", err)
	}
	c.Nodes = 5
	cc.Project = "Bad Name"
	if err := c.Validate(); err == nil {
		t.Error("a bad compose project accepted")
	}
}

func TestNodeArgs(t *testing.T) {
	r := &run{cfg: DefaultConfig()}
	want := []string{"--fault-injection=true", "--replicas=3", "--default-n=3", "--default-r=2", "--default-w=2", "--tombstone-grace=45s"}
	if got := r.nodeArgs(); !slices.Equal(got, want) {
		t.Errorf("nodeArgs = %q, want %q", got, want)
	}
}

// TestDropUnsupported: a bridge the compose network cannot make leaves
// the run's errors for its notes; every other error stays.
func TestDropUnsupported(t *testing.T) {
	bridge := fmt.Errorf("inject: start partition/bridge at 5s for 3s: %w", fmt.Errorf("%w: a bridge", compose.ErrUnsupported))
	heal := errors.New("inject: heal kill nodes [1]: docker start failed")
	r := &run{cfg: DefaultConfig()}
	res := &Result{}
	if err := r.dropUnsupported(res, errors.Join(bridge, heal)); err == nil || err.Error() != heal.Error() {
		t.Errorf("kept %v, want only %v", err, heal)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "partition/bridge") {
		t.Errorf("notes %q", res.Notes)
	}
	res = &Result{}
	if err := r.dropUnsupported(res, errors.Join(bridge, bridge)); err != nil || len(res.Notes) != 2 {
		t.Errorf("two bridges: kept %v, notes %q", err, res.Notes)
	}
	if err := r.dropUnsupported(&Result{}, heal); err != heal {
		t.Errorf("a lone error: kept %v", err)
	}
	if err := r.dropUnsupported(&Result{}, nil); err != nil {
		t.Errorf("nil: kept %v", err)
	}
	var _ cluster = (*compose.Cluster)(nil)
	var _ inject.Net = (*compose.Net)(nil)
}
