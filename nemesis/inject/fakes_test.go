package inject

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chorusdb/chorus/nemesis/netfault"
)

// fakeTarget is a cluster of pretend processes that records what was done
// and refuses what a real one would (killing a dead node, restarting a
// live one, ...).
type fakeTarget struct {
	mu      sync.Mutex
	n       int
	dead    map[int]bool
	stopped map[int]bool
	log     []string
	failOn  string // an action ("kill 1") that fails once
}

func newFakeTarget(n int) *fakeTarget {
	return &fakeTarget{n: n, dead: map[int]bool{}, stopped: map[int]bool{}}
}

func (f *fakeTarget) act(what string, ok bool, why string) error {
	f.log = append(f.log, what)
	if f.failOn == what {
		f.failOn = ""
		return errors.New("injected failure of " + what)
	}
	if !ok {
		return errors.New(what + ": " + why)
	}
	return nil
}

func (f *fakeTarget) Len() int          { f.mu.Lock(); defer f.mu.Unlock(); return f.n }
func (f *fakeTarget) Host(i int) string { return fmt.Sprintf("127.0.0.%d", i+2) }
func (f *fakeTarget) Kill(i int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.act(fmt.Sprintf("kill %d", i), !f.dead[i], "already dead"); err != nil {
		return err
	}
	f.dead[i], f.stopped[i] = true, false
	return nil
}
func (f *fakeTarget) Restart(i int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.act(fmt.Sprintf("restart %d", i), f.dead[i], "still running"); err != nil {
		return err
	}
	f.dead[i] = false
	return nil
}
func (f *fakeTarget) Pause(i int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.act(fmt.Sprintf("pause %d", i), !f.dead[i] && !f.stopped[i], "not running"); err != nil {
		return err
	}
	f.stopped[i] = true
	return nil
}
func (f *fakeTarget) Resume(i int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.act(fmt.Sprintf("resume %d", i), f.stopped[i], "not paused"); err != nil {
		return err
	}
	f.stopped[i] = false
	return nil
}
func (f *fakeTarget) Add() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.act("add", true, ""); err != nil {
		return 0, err
	}
	f.n++
	return f.n - 1, nil
}
func (f *fakeTarget) Ready(context.Context, int, int) bool { return true }

// healthy reports whether no node is dead or stopped.
func (f *fakeTarget) healthy() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.n {
		if f.stopped[i] || (f.dead[i] && i < 5) { // nodes 5+ joined and left
			return false
		}
	}
	return true
}

type fakeNet struct {
	mu  sync.Mutex
	cut netfault.Cut
	log []string
}

func (n *fakeNet) Apply(_ context.Context, c netfault.Cut) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut = c
	n.log = append(n.log, c.String())
	return nil
}
func (n *fakeNet) Heal(ctx context.Context) error { return n.Apply(ctx, netfault.Cut{}) }

type fakeAdmin struct {
	mu     sync.Mutex
	t      *fakeTarget
	faults map[int]NodeFaults
	left   []int
}

func (a *fakeAdmin) SetFaults(_ context.Context, i int, f NodeFaults) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.faults == nil {
		a.faults = map[int]NodeFaults{}
	}
	cur := a.faults[i]
	if f.ClockOffset != "" {
		cur.ClockOffset = f.ClockOffset
	}
	if f.Disk != "" {
		cur.Disk, cur.SyncDelay = f.Disk, f.SyncDelay
	}
	a.faults[i] = cur
	return nil
}

// Leave makes the pretend node exit, as a real node does after its
// handoff.
func (a *fakeAdmin) Leave(_ context.Context, i int) error {
	a.mu.Lock()
	a.left = append(a.left, i)
	a.mu.Unlock()
	return a.t.Kill(i)
}

// clean reports whether every node's faults are reset.
func (a *fakeAdmin) clean() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range a.faults {
		if (f.ClockOffset != "" && f.ClockOffset != "0s") || (f.Disk != "" && f.Disk != "none") {
			return false
		}
	}
	return true
}
