package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/chorusdb/chorus/nemesis/compose"
	"github.com/chorusdb/chorus/nemesis/inject"
)

// cluster is the nodes a run drives: node processes (*procs.Cluster) or
// the docker-compose cluster (*compose.Cluster).
type cluster interface {
	inject.Target
	// Running reports whether node i runs (paused counts as running).
	Running(i int) bool
	// HTTPAddr returns node i's HTTP API, host:port.
	HTTPAddr(i int) string
	Close() error
}

// nodeFlags are the flags every node runs with beside its addresses.
func (r *run) nodeFlags() [][2]string {
	return [][2]string{{"fault-injection", "true"}, {"replicas", strconv.Itoa(r.cfg.N)}, {"default-n", strconv.Itoa(r.cfg.N)},
		{"default-r", strconv.Itoa(r.cfg.R)}, {"default-w", strconv.Itoa(r.cfg.W)}, {"tombstone-grace", r.cfg.TombstoneGrace.String()}}
}

// nodeArgs are nodeFlags on a command line.
func (r *run) nodeArgs() []string {
	var out []string
	for _, f := range r.nodeFlags() {
		out = append(out, "--"+f[0]+"="+f[1])
	}
	return out
}

// startCompose brings the docker-compose cluster up with nodeFlags, as
// the CHORUS_<FLAG> variables chorus node reads for flags its command
// line does not set, and the clients' HTTPS client. The nodes' logs go
// to Dir/cluster/nodes.log when the cluster is torn down.
func (r *run) startCompose(ctx context.Context) error {
	cc := *r.cfg.Compose
	cc.Env = maps.Clone(cc.Env)
	if cc.Env == nil {
		cc.Env = map[string]string{}
	}
	for _, f := range append(r.nodeFlags(), [2]string{"log-level", "warn"}) {
		cc.Env["CHORUS_"+strings.ToUpper(strings.ReplaceAll(f[0], "-", "_"))] = f[1]
	}
	cc.Log = r.cfg.Log
	dir := filepath.Join(r.cfg.Dir, "cluster")
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	cc.LogFile = filepath.Join(dir, "nodes.log")
	c, err := compose.Start(ctx, cc)
	if err != nil {
		return err
	}
	r.cluster, r.net = c, c.Net()
	r.web = r.newWeb(c.ClientTLS())
	return nil
}

// composeNote says in the history which container each node is.
func (r *run) composeNote() string {
	c, ok := r.cluster.(*compose.Cluster)
	if !ok {
		return ""
	}
	var names []string
	for i := range c.Len() {
		_, svc := c.Name(i)
		names = append(names, nodeName(i)+"="+svc)
	}
	return fmt.Sprintf("docker-compose project %s (%s): %s", r.cfg.Compose.Project, r.cfg.Compose.File, strings.Join(names, " "))
}

// dropUnsupported takes the faults the compose cluster cannot make (a
// bridge partition: docker network disconnect cuts a node off
// altogether) out of the run's errors, as the process mode drops the
// partitions it cannot make: the fault is in the history, struck and
// healed at once, and Notes says why.
func (r *run) dropUnsupported(res *Result, err error) error {
	kept, dropped := without(err, compose.ErrUnsupported)
	for _, d := range dropped {
		note := fmt.Sprintf("not carried out: %v", d)
		r.logf("%s", note)
		res.Notes = append(res.Notes, note)
	}
	return kept
}

// without removes from err, and from the errors it joins, those that
// are target, and returns them apart; an error none of whose parts is
// target is kept whole.
func without(err, target error) (kept error, dropped []error) {
	if err == nil {
		return nil, nil
	}
	multi, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if errors.Is(err, target) {
			return nil, []error{err}
		}
		return err, nil
	}
	var keep []error
	for _, e := range multi.Unwrap() {
		k, d := without(e, target)
		dropped = append(dropped, d...)
		if k != nil {
			keep = append(keep, k)
		}
	}
	if len(dropped) == 0 {
		return err, nil
	}
	return errors.Join(keep...), dropped
}
