package server_test

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/server"
)

// metricValue returns the value of the series named series (with its
// labels, as exposed: `name{kind="lsm"}`) on node's /metrics.
func metricValue(t *testing.T, c *testCluster, node, series string) float64 {
	t.Helper()
	rec := server.DoHTTP(t, c.Nodes[node].HTTPHandler(), "GET", "/metrics", nil, nil)
	sc := bufio.NewScanner(strings.NewReader(rec.Body.String()))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("%s on %s: %v", series, node, err)
			}
			return v
		}
	}
	t.Fatalf("%s: no series %s on /metrics", node, series)
	return 0
}

// Tombstone collection reads the deleted keys only (storage's tombstone
// index), so what a pass looks at follows the number of deletes, not of
// keys; the live and deleted key counts and the disk figures are on
// /metrics.
func TestTombstoneCollectionReadsDeletedKeysOnly(t *testing.T) {
	var skew atomic.Int64
	c := newTestClusterWith(t, 4, manualRepair(&skew), three...)
	const keys, deletes = 40, 4
	for i := range keys {
		key := fmt.Sprintf("key-%02d", i)
		put, err := c.put("a", key, "v", "", allW)
		if err != nil {
			t.Fatal(err)
		}
		if i < deletes {
			if _, err := c.del("b", key, put.Context, allW); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range c.IDs {
		if got := metricValue(t, c, id, "chorus_live_keys"); got != keys-deletes {
			t.Errorf("%s: chorus_live_keys = %v, want %d", id, got, keys-deletes)
		}
		if got := metricValue(t, c, id, "chorus_tombstone_keys"); got != deletes {
			t.Errorf("%s: chorus_tombstone_keys = %v, want %d", id, got, deletes)
		}
		for _, kind := range []string{"lsm", "vlog", "log"} {
			// In-memory nodes have no files: the series is there, at 0.
			if got := metricValue(t, c, id, `chorus_disk_bytes{kind="`+kind+`"}`); got != 0 {
				t.Errorf("%s: chorus_disk_bytes{kind=%q} = %v for an in-memory node", id, kind, got)
			}
		}
	}
	skew.Store(int64(2 * time.Hour))
	collected, scanned := 0, 0.0
	for _, id := range c.IDs {
		n, err := c.Nodes[id].CollectTombstones(ctxT(t))
		if err != nil {
			t.Fatalf("%s: collect: %v", id, err)
		}
		collected += n
		scanned += metricValue(t, c, id, "chorus_tombstones_scanned_total")
	}
	if collected != deletes {
		t.Errorf("collected %d keys in all, want %d (each by its partition's leader)", collected, deletes)
	}
	// Every deleted key is looked at once, by its leader; a full scan
	// would have read all the keys of the partitions each node leads.
	if scanned != deletes {
		t.Errorf("collection looked at %v keys, want the %d deleted ones (of %d)", scanned, deletes, keys)
	}
	for _, id := range c.IDs {
		if got := metricValue(t, c, id, "chorus_tombstone_keys"); got != 0 {
			t.Errorf("%s: chorus_tombstone_keys = %v after collection, want 0", id, got)
		}
		if got := metricValue(t, c, id, "chorus_live_keys"); got != keys-deletes {
			t.Errorf("%s: chorus_live_keys = %v after collection, want %d", id, got, keys-deletes)
		}
	}
}
