package inject

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/nemesis/netfault"
)

// Target is the cluster's node processes; *procs.Cluster is one.
type Target interface {
	Len() int
	Host(i int) string
	Kill(i int) error
	Restart(i int) error
	Pause(i int) error
	Resume(i int) error
	// Add starts a new node that joins the others and returns its index.
	Add() (int, error)
	// Ready reports whether node i serves a ring of size members with its
	// partitions received.
	Ready(ctx context.Context, i, members int) bool
}

// Net cuts traffic between nodes' addresses; *netfault.Firewall is one.
type Net interface {
	Apply(ctx context.Context, c netfault.Cut) error
	Heal(ctx context.Context) error
}

// NodeFaults is what a node's /v1/faults takes: empty fields are left as
// they are.
type NodeFaults struct {
	ClockOffset string `json:"clock_offset,omitempty"`
	Disk        string `json:"disk,omitempty"`
	SyncDelay   string `json:"sync_delay,omitempty"`
}

// Admin reaches the nodes' admin routes.
type Admin interface {
	// SetFaults posts f to node i's /v1/faults.
	SetFaults(ctx context.Context, i int, f NodeFaults) error
	// Leave asks node i to leave the cluster (/v1/cluster/leave).
	Leave(ctx context.Context, i int) error
}

// Config wires an Injector.
type Config struct {
	Target Target
	Net    Net   // nil: partitions fail with ErrNoNet
	Admin  Admin // nil: clock, disk and leave faults fail
	// Members is the ring's size the cluster returns to after a heal.
	Members int
	// SyncDelay is the delay of a slow disk. Default 300 ms.
	SyncDelay time.Duration
	// LeaveTimeout bounds the wait for a leaving node to finish its
	// handoff and exit before it is killed. Default 60 s.
	LeaveTimeout time.Duration
	// Poll is how often waits look again. Default 100 ms.
	Poll time.Duration
	// Sleep waits d or until ctx ends (tests pass a fake). Default a
	// real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Exited reports whether node i's process has exited; a leaving node
	// is waited for with it. Nil: the node is killed once it left the ring.
	Exited func(i int) bool
}

// ErrNoNet is returned for a partition when the Injector has no Net.
var ErrNoNet = errors.New("inject: no network control (iptables unavailable)")

// Injector applies faults and heals them. Its methods are safe for
// concurrent use; they run one at a time.
type Injector struct {
	cfg Config

	mu      sync.Mutex
	killed  map[int]bool
	paused  map[int]bool
	cut     bool
	shifted map[int]bool // clock offset set
	disk    map[int]string
	joined  []int // nodes started by a membership fault, not yet gone
}

// New returns an Injector.
func New(cfg Config) (*Injector, error) {
	if cfg.Target == nil {
		return nil, errors.New("inject: no target")
	}
	if cfg.Members < 1 {
		cfg.Members = cfg.Target.Len()
	}
	if cfg.SyncDelay == 0 {
		cfg.SyncDelay = 300 * time.Millisecond
	}
	if cfg.LeaveTimeout == 0 {
		cfg.LeaveTimeout = time.Minute
	}
	if cfg.Poll == 0 {
		cfg.Poll = 100 * time.Millisecond
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	return &Injector{cfg: cfg, killed: map[int]bool{}, paused: map[int]bool{}, shifted: map[int]bool{}, disk: map[int]string{}}, nil
}

func sleep(ctx context.Context, d time.Duration) error { return clock.Sleep(ctx, clock.Real{}, d) }

// Start applies f. For a membership fault it sets f.Nodes to the joining
// node, so the caller's timeline names it.
func (in *Injector) Start(ctx context.Context, f *Fault) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch f.Kind {
	case Kill:
		for _, i := range f.Nodes {
			if err := in.cfg.Target.Kill(i); err != nil {
				return err
			}
			in.killed[i] = true
		}
	case Pause:
		for _, i := range f.Nodes {
			if err := in.cfg.Target.Pause(i); err != nil {
				return err
			}
			in.paused[i] = true
		}
	case Partition:
		return in.partition(ctx, f)
	case Clock:
		if in.cfg.Admin == nil {
			return errors.New("inject: clock faults need the nodes' admin API")
		}
		for _, i := range f.Nodes {
			in.shifted[i] = true
			if err := in.cfg.Admin.SetFaults(ctx, i, NodeFaults{ClockOffset: f.ClockOffset.String()}); err != nil {
				return err
			}
		}
	case Disk:
		if in.cfg.Admin == nil {
			return errors.New("inject: disk faults need the nodes' admin API")
		}
		for _, i := range f.Nodes {
			in.disk[i] = f.Variant
			nf := NodeFaults{Disk: f.Variant}
			if f.Variant == "slow" {
				nf.SyncDelay = in.cfg.SyncDelay.String()
			}
			if err := in.cfg.Admin.SetFaults(ctx, i, nf); err != nil {
				return err
			}
		}
	case Membership:
		i, err := in.cfg.Target.Add()
		if err != nil {
			return err
		}
		in.joined = append(in.joined, i)
		f.Nodes = []int{i}
	default:
		return fmt.Errorf("inject: unknown fault %q", f.Kind)
	}
	return nil
}

// partition applies f's cut over the nodes that run now.
func (in *Injector) partition(ctx context.Context, f *Fault) error {
	if in.cfg.Net == nil {
		return ErrNoNet
	}
	var all []string
	for i := range in.cfg.Target.Len() {
		all = append(all, in.cfg.Target.Host(i))
	}
	var cut netfault.Cut
	var err error
	switch f.Variant {
	case "bridge":
		cut, err = netfault.Bridge(all)
	default: // majority, isolate: f.Nodes is the minority side
		var minority, rest []string
		for i, h := range all {
			if slices.Contains(f.Nodes, i) {
				minority = append(minority, h)
			} else {
				rest = append(rest, h)
			}
		}
		cut, err = netfault.Split(minority, rest)
	}
	if err != nil {
		return err
	}
	if err := in.cfg.Net.Apply(ctx, cut); err != nil {
		return err
	}
	in.cut = true
	return nil
}

// Heal undoes f.
func (in *Injector) Heal(ctx context.Context, f Fault) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch f.Kind {
	case Kill:
		return in.restart(ctx, f.Nodes)
	case Pause:
		var errs []error
		for _, i := range f.Nodes {
			errs = append(errs, in.resume(i))
		}
		return errors.Join(errs...)
	case Partition:
		return in.healNet(ctx)
	case Clock:
		var errs []error
		for _, i := range f.Nodes {
			errs = append(errs, in.resetClock(ctx, i))
		}
		return errors.Join(errs...)
	case Disk:
		var errs []error
		for _, i := range f.Nodes {
			errs = append(errs, in.resetDisk(ctx, i))
		}
		return errors.Join(errs...)
	case Membership:
		var errs []error
		for _, i := range f.Nodes {
			errs = append(errs, in.leave(ctx, i))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("inject: unknown fault %q", f.Kind)
}

// HealAll undoes every fault in force, trying every step.
func (in *Injector) HealAll(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	var errs []error
	if in.cut {
		errs = append(errs, in.healNet(ctx))
	}
	for _, i := range sortedKeys(in.paused) {
		errs = append(errs, in.resume(i))
	}
	for _, i := range sortedKeys(in.shifted) {
		errs = append(errs, in.resetClock(ctx, i))
	}
	for _, i := range sortedKeys(in.disk) {
		errs = append(errs, in.resetDisk(ctx, i))
	}
	errs = append(errs, in.restart(ctx, sortedKeys(in.killed)))
	for _, i := range slices.Clone(in.joined) {
		errs = append(errs, in.leave(ctx, i))
	}
	return errors.Join(errs...)
}

// Active reports whether any fault is in force.
func (in *Injector) Active() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cut || len(in.killed)+len(in.paused)+len(in.shifted)+len(in.disk)+len(in.joined) > 0
}

func (in *Injector) restart(ctx context.Context, nodes []int) error {
	var errs []error
	for _, i := range nodes {
		if err := in.cfg.Target.Restart(i); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(in.killed, i)
	}
	return errors.Join(errs...)
}

func (in *Injector) resume(i int) error {
	if err := in.cfg.Target.Resume(i); err != nil {
		return err
	}
	delete(in.paused, i)
	return nil
}

func (in *Injector) healNet(ctx context.Context) error {
	if err := in.cfg.Net.Heal(ctx); err != nil {
		return err
	}
	in.cut = false
	return nil
}

func (in *Injector) resetClock(ctx context.Context, i int) error {
	if err := in.cfg.Admin.SetFaults(ctx, i, NodeFaults{ClockOffset: "0s"}); err != nil {
		return err
	}
	delete(in.shifted, i)
	return nil
}

// resetDisk gives node i a good disk again; after a full one it restarts
// the node, whose store refuses writes since the failed one.
func (in *Injector) resetDisk(ctx context.Context, i int) error {
	kind := in.disk[i]
	if err := in.cfg.Admin.SetFaults(ctx, i, NodeFaults{Disk: "none"}); err != nil {
		return err
	}
	delete(in.disk, i)
	if kind != "full" {
		return nil
	}
	if err := in.cfg.Target.Kill(i); err != nil {
		return err
	}
	return in.cfg.Target.Restart(i)
}

// leave makes joined node i leave, waits until its process exits (its
// handoff done), and kills it past LeaveTimeout.
func (in *Injector) leave(ctx context.Context, i int) error {
	if in.cfg.Admin == nil {
		return errors.New("inject: membership faults need the nodes' admin API")
	}
	// A node that has not joined yet cannot leave: wait until it serves
	// the ring it joined.
	waited := time.Duration(0)
	for ; waited < in.cfg.LeaveTimeout && !in.cfg.Target.Ready(ctx, i, in.cfg.Members+1); waited += in.cfg.Poll {
		if err := in.cfg.Sleep(ctx, in.cfg.Poll); err != nil {
			return err
		}
	}
	if err := in.cfg.Admin.Leave(ctx, i); err != nil {
		return fmt.Errorf("inject: node %d leave: %w", i, err)
	}
	for ; in.cfg.Exited != nil && !in.cfg.Exited(i) && waited < in.cfg.LeaveTimeout; waited += in.cfg.Poll {
		if err := in.cfg.Sleep(ctx, in.cfg.Poll); err != nil {
			return err
		}
	}
	if in.cfg.Exited == nil || !in.cfg.Exited(i) {
		if err := in.cfg.Target.Kill(i); err != nil {
			return fmt.Errorf("inject: node %d did not exit after leaving within %v: %w", i, in.cfg.LeaveTimeout, err)
		}
	}
	in.joined = slices.DeleteFunc(in.joined, func(j int) bool { return j == i })
	return nil
}

func sortedKeys[V any](m map[int]V) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
