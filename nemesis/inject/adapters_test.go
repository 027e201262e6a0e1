package inject

import (
	"github.com/chorusdb/chorus/bench/procs"
	"github.com/chorusdb/chorus/nemesis/netfault"
)

// The real controls satisfy the interfaces.
var (
	_ Target = (*procs.Cluster)(nil)
	_ Net    = (*netfault.Firewall)(nil)
)
