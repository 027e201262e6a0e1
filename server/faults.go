package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/storage/vfs"
)

// Fault injection, for fault tests of real node processes (chorus
// nemesis): a node started with Config.FaultInjection takes, at run time
// and from an admin (POST /v1/faults), an offset of its wall clock and a
// fault of its commit log's disk. Without it the route does not exist and
// nothing here is on any path.
//
// The wall clock is what tombstones, hints and the last-alive mark are
// stamped and aged with (the coordinator's write timestamps, the
// collector's grace cutoff, the hint queue's age limit, the downtime
// check); timers and durations still run on real time, as a jump of the
// system clock leaves Go's monotonic readings alone. The disk faults hit
// the commit log, the one file every durable write waits on: "full"
// fails its writes, creations and truncations with ENOSPC, "slow" delays
// each fdatasync. What the store does then is its own rule (storage/doc.go:
// a failed sync fails writes until the node restarts).

// FaultsView is the fault state of a node, as GET and POST /v1/faults
// show it and POST takes it (fields left out of a POST are unchanged).
type FaultsView struct {
	// ClockOffset is added to the node's wall clock ("-2h", "90s", "0s").
	ClockOffset string `json:"clock_offset"`
	// Disk is the commit log's disk fault: "none", "full" or "slow".
	Disk string `json:"disk"`
	// SyncDelay is how long each fdatasync waits first when Disk is "slow".
	SyncDelay string `json:"sync_delay"`
}

// Disk fault kinds.
const (
	diskNone = "none"
	diskFull = "full"
	diskSlow = "slow"
)

// defaultSyncDelay is the delay of "slow" when none is given: long enough
// that a durable write's latency shows it, short of a request's timeout.
const defaultSyncDelay = 200 * time.Millisecond

// faults holds a node's injected faults; the zero value injects none.
type faults struct {
	offset atomic.Int64              // wall-clock offset, ns
	disk   atomic.Pointer[diskFault] // nil: none
	base   clock.Clock               // the clock the offset is added to
}

type diskFault struct {
	kind  string
	delay time.Duration
}

func newFaults() *faults { return &faults{base: clock.Real{}} }

// Now implements clock.Clock: the base clock's time plus the offset.
func (f *faults) Now() time.Time { return f.base.Now().Add(time.Duration(f.offset.Load())) }

// Since implements clock.Clock on the offset wall clock.
func (f *faults) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// NewTimer implements clock.Clock; durations are not offset.
func (f *faults) NewTimer(d time.Duration) (clock.Timer, <-chan time.Time) { return f.base.NewTimer(d) }

// NewTicker implements clock.Clock; durations are not offset.
func (f *faults) NewTicker(d time.Duration) (clock.Ticker, <-chan time.Time) {
	return f.base.NewTicker(d)
}

// AfterFunc implements clock.Clock; durations are not offset.
func (f *faults) AfterFunc(d time.Duration, fn func()) clock.Timer { return f.base.AfterFunc(d, fn) }

var _ clock.Clock = (*faults)(nil)

// MaybeError implements vfs.Injector for the commit log's file system.
func (f *faults) MaybeError(op vfs.Op, name string) error {
	d := f.disk.Load()
	if d == nil {
		return nil
	}
	switch {
	case d.kind == diskFull && (op == vfs.OpWrite || op == vfs.OpCreate || op == vfs.OpTruncate):
		return fmt.Errorf("server: injected disk fault on %s of %s: %w", op, name, syscall.ENOSPC)
	case d.kind == diskSlow && op == vfs.OpSync:
		// The fault itself: this fdatasync is slow, as a failing disk's is.
		time.Sleep(d.delay)
	}
	return nil
}

// view returns the current state.
func (f *faults) view() FaultsView {
	v := FaultsView{ClockOffset: time.Duration(f.offset.Load()).String(), Disk: diskNone}
	if d := f.disk.Load(); d != nil {
		v.Disk = d.kind
		if d.kind == diskSlow {
			v.SyncDelay = d.delay.String()
		}
	}
	return v
}

// apply sets the fields of v that are not empty, all or none: a bad field
// changes nothing.
func (f *faults) apply(v FaultsView) error {
	offset := time.Duration(f.offset.Load())
	if v.ClockOffset != "" {
		d, err := time.ParseDuration(v.ClockOffset)
		if err != nil {
			return fmt.Errorf("server: clock_offset %q: not a duration such as -2h or 90s", v.ClockOffset)
		}
		offset = d
	}
	disk := f.disk.Load()
	if v.Disk != "" || v.SyncDelay != "" {
		kind := v.Disk
		if kind == "" && disk != nil {
			kind = disk.kind
		}
		delay := defaultSyncDelay
		if v.SyncDelay != "" {
			d, err := time.ParseDuration(v.SyncDelay)
			if err != nil || d < 0 || d > time.Minute {
				return fmt.Errorf("server: sync_delay %q: want a duration from 0 to 1m", v.SyncDelay)
			}
			delay = d
		}
		switch kind {
		case diskNone, "":
			disk = nil
		case diskFull, diskSlow:
			disk = &diskFault{kind: kind, delay: delay}
		default:
			return fmt.Errorf("server: disk %q: want none, full or slow", v.Disk)
		}
	}
	f.offset.Store(int64(offset))
	f.disk.Store(disk)
	return nil
}

// maxFaultsBody bounds a POST /v1/faults body.
const maxFaultsBody = 4 << 10

// handle serves GET (the state) and POST (a change, answered with the new
// state) of /v1/faults.
func (f *faults) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var v FaultsView
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFaultsBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("server: faults body: %v", err))
			return
		}
		if err := f.apply(v); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, f.view())
}

// wallNow is the node's wall clock: real time, offset when a fault says so.
func (n *Node) wallNow() time.Time {
	if n.faults != nil {
		return n.faults.Now()
	}
	return time.Now()
}

// faultsHandler serves /v1/faults, or is nil when fault injection is off.
func (n *Node) faultsHandler() http.HandlerFunc {
	if n.faults == nil {
		return nil
	}
	return func(w http.ResponseWriter, r *http.Request) {
		before := n.faults.view()
		n.faults.handle(w, r)
		if after := n.faults.view(); after != before {
			n.log.Warn("injected faults changed", "clock_offset", after.ClockOffset, "disk", after.Disk, "sync_delay", after.SyncDelay)
		}
	}
}
