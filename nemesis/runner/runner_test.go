package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chorusdb/chorus/nemesis"
	"github.com/chorusdb/chorus/nemesis/inject"
)

func TestOutcomes(t *testing.T) {
	starting := []byte(`{"error":"server: node starting: it does not know the ring"}`)
	quorum := []byte(`{"error":"replica: write quorum not met (1/2)"}`)
	for _, c := range []struct {
		kind nemesis.Kind
		code int
		body []byte
		want nemesis.Outcome
	}{
		{nemesis.Put, 204, nil, nemesis.OK},
		{nemesis.Delete, 204, nil, nemesis.OK},
		{nemesis.Get, 200, nil, nemesis.OK},
		{nemesis.Get, 300, nil, nemesis.OK},
		{nemesis.Get, 404, nil, nemesis.OK},
		{nemesis.Get, 503, quorum, nemesis.Fail},
		{nemesis.Put, 400, nil, nemesis.Fail},
		{nemesis.Put, 409, nil, nemesis.Fail},
		{nemesis.Put, 408, nil, nemesis.Info},
		{nemesis.Put, 503, starting, nemesis.Fail},
		{nemesis.Put, 503, quorum, nemesis.Info},
		{nemesis.Delete, 500, nil, nemesis.Info},
	} {
		if got := statusOutcome(c.kind, c.code, c.body); got != c.want {
			t.Errorf("%s answered %d %s: %s, want %s", c.kind, c.code, c.body, got, c.want)
		}
	}
	refused := &url.Error{Op: "Put", URL: "https://127.0.0.2:1", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
	timeout := &url.Error{Op: "Put", URL: "https://127.0.0.2:1", Err: context.DeadlineExceeded}
	if transportOutcome(nemesis.Put, refused) != nemesis.Fail || transportOutcome(nemesis.Put, timeout) != nemesis.Info ||
		transportOutcome(nemesis.Get, timeout) != nemesis.Fail || transportOutcome(nemesis.Delete, errors.New("reset")) != nemesis.Info {
		t.Error("a refused dial must fail, a write without an answer be indeterminate, a read without one fail")
	}
}

func TestHosts(t *testing.T) {
	hs, err := hosts("127.0.0.2", 3)
	if err != nil || strings.Join(hs, ",") != "127.0.0.2,127.0.0.3,127.0.0.4" {
		t.Fatalf("hosts = %v, %v", hs, err)
	}
	if _, err := hosts("127.0.0.250", 10); err == nil {
		t.Error("hosts past .254 accepted")
	}
	if _, err := hosts("::1", 2); err == nil {
		t.Error("an IPv6 first host accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Dir = t.TempDir()
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults with a Dir: %v", err)
	}
	for name, edit := range map[string]func(*Config){
		"no dir":          func(c *Config) { c.Dir = "" },
		"two nodes":       func(c *Config) { c.Nodes = 2 },
		"R above N":       func(c *Config) { c.R = 4 },
		"bad workload":    func(c *Config) { c.Workloads = []string{"bank"} },
		"bad fault":       func(c *Config) { c.Faults = []inject.Kind{"meteor"} },
		"short grace":     func(c *Config) { c.TombstoneGrace = time.Millisecond },
		"ports too high":  func(c *Config) { c.PortBase = 64000 },
		"negative cycles": func(c *Config) { c.Cycles = -1 },
		"hold max < min":  func(c *Config) { c.HoldMin, c.HoldMax = 5*time.Second, time.Second },
		"no duration":     func(c *Config) { c.Duration = 0 },
	} {
		c := ok
		edit(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCyclesNeedNoDuration(t *testing.T) {
	c := DefaultConfig()
	c.Dir, c.Duration, c.Cycles = t.TempDir(), 0, 100
	if err := c.Validate(); err != nil {
		t.Fatalf("100 cycles without a duration: %v", err)
	}
	if got := maxNodes(c); got != 5+100+1 {
		t.Fatalf("maxNodes = %d, want room for a join per cycle (106)", got)
	}
}

// TestWrittenBetween: a heal's probe reads the write-once puts sent
// during the fault, acknowledged or indeterminate, not failed ones, not
// other workloads', not those sent long before; and at most probeKeys.
func TestWrittenBetween(t *testing.T) {
	s := func(n float64) int64 { return int64(n * float64(time.Second)) }
	r := &run{cfg: DefaultConfig()}
	add := func(wl string, kind nemesis.Kind, key string, invoke, complete int64, out nemesis.Outcome) {
		r.ops = append(r.ops, nemesis.Op{Workload: wl, Kind: kind, Key: key, Invoke: invoke, Complete: complete, Outcome: out})
	}
	add(nemesis.WriteOnce, nemesis.Put, "old", s(1), s(1.1), nemesis.OK)
	add(nemesis.WriteOnce, nemesis.Put, "before", s(8.5), s(8.6), nemesis.OK) // within a request timeout of the start
	add(nemesis.WriteOnce, nemesis.Put, "acked", s(11), s(11.2), nemesis.OK)
	add(nemesis.WriteOnce, nemesis.Put, "timed-out", s(12), s(14), nemesis.Info)
	add(nemesis.WriteOnce, nemesis.Put, "refused", s(12.5), s(12.5), nemesis.Fail)
	add(nemesis.WriteOnce, nemesis.Get, "read", s(13), s(13.1), nemesis.OK)
	add(nemesis.Counter, nemesis.Put, "counter", s(13), s(13.1), nemesis.OK)
	add(nemesis.WriteOnce, nemesis.Put, "after", s(16), s(16.1), nemesis.OK)
	got := r.writtenBetween(s(10)-int64(r.cfg.RequestTimeout), s(15))
	slices.Sort(got)
	if want := []string{"acked", "before", "timed-out"}; !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	r.ops = nil
	for i := range 1000 {
		add(nemesis.WriteOnce, nemesis.Put, fmt.Sprint("k", i), s(10+float64(i)/1000), s(10.5+float64(i)/1000), nemesis.OK)
	}
	if got := r.writtenBetween(s(10), s(12)); len(got) != probeKeys {
		t.Fatalf("%d keys from 1000, want a sample of %d", len(got), probeKeys)
	}
}

func TestFaultOfEvent(t *testing.T) {
	f := faultOf(inject.Event{Fault: inject.Fault{Kind: inject.Partition, Variant: "majority", Nodes: []int{0, 3}},
		Started: time.Second, Healed: 3 * time.Second})
	if f.Kind != nemesis.FaultPartition || fmt.Sprint(f.Nodes) != "[node0 node3]" || f.Start != int64(time.Second) ||
		f.End != int64(3*time.Second) || f.Note != "majority" {
		t.Fatalf("faultOf = %+v", f)
	}
}

// TestTimelineCoversLongRuns: a run of cycles outlasts Duration; its
// timeline must not stop at Duration.
func TestTimelineCoversLongRuns(t *testing.T) {
	ops := []nemesis.Op{{Kind: nemesis.Put, Outcome: nemesis.OK, Complete: int64(10 * time.Minute)}}
	end := timelineEnd(ops, time.Minute)
	if end != 10*time.Minute {
		t.Fatalf("timeline ends at %v, want the last operation's 10m0s", end)
	}
	xs, series := timelineSeries(ops, end)
	if last := series[0].Ys[len(xs)-1]; last == 0 {
		t.Fatalf("the write at 10 min is not in the last bucket: %v", series[0].Ys[len(xs)-3:])
	}
}
