package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/chorusdb/chorus/bench/etcdtarget"
	"github.com/chorusdb/chorus/client"
)

// Default ports of the clusters that bench --start and bench compare
// launch: node i serves HTTP on 28080+i, gRPC on 29090+i and gossip on
// 27946+i, clear of the demo's (8080, 9090, 7946) and
// scripts/cluster.sh's (18080, 19090, 17946).
const (
	launchHTTPBase   = 28080
	launchGRPCBase   = 29090
	launchGossipBase = 27946
)

// procCluster is a local cluster of `chorus node` processes, each with
// its data under dir; it owns the processes and stops them on Close.
type procCluster struct {
	bin   string
	dir   string
	owned bool // dir was created by launch and is removed by Close
	log   io.Writer
	nodes []*procNode
}

type procNode struct {
	args       []string
	http, grpc string
	cmd        *exec.Cmd
	exited     chan struct{} // closed when cmd.Wait returned
}

// launchConfig configures launchCluster.
type launchConfig struct {
	Nodes int
	// Bin is the chorus binary; empty means this executable.
	Bin string
	// Dir holds the nodes' data and logs; empty means a new temporary
	// directory, removed by Close.
	Dir string
	// Extra are flags added to every node's command line.
	Extra []string
	// Log receives progress lines.
	Log io.Writer
}

// launchCluster starts cfg.Nodes node processes on the launch ports and
// waits until every node sees the whole ring with its partitions
// received. On error it stops what it started.
func launchCluster(ctx context.Context, cfg launchConfig) (*procCluster, error) {
	c := &procCluster{bin: cfg.Bin, dir: cfg.Dir, log: cfg.Log}
	if c.log == nil {
		c.log = io.Discard
	}
	if c.bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("launch: find this executable: %w", err)
		}
		c.bin = exe
	}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "chorus-bench-")
		if err != nil {
			return nil, err
		}
		c.dir, c.owned = d, true
	}
	for i := range cfg.Nodes {
		http := net.JoinHostPort("127.0.0.1", strconv.Itoa(launchHTTPBase+i))
		grpc := net.JoinHostPort("127.0.0.1", strconv.Itoa(launchGRPCBase+i))
		gossip := net.JoinHostPort("127.0.0.1", strconv.Itoa(launchGossipBase+i))
		for _, addr := range []string{http, grpc} {
			if conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
				conn.Close()
				return nil, errors.Join(fmt.Errorf("launch: %s is in use: is another benchmark cluster running?", addr), c.Close())
			}
		}
		args := []string{"node", "--name", fmt.Sprintf("node%d", i), "--data-dir", filepath.Join(c.dir, fmt.Sprintf("node%d", i)),
			"--http-addr", http, "--grpc-addr", grpc, "--gossip-addr", gossip, "--log-level", "warn"}
		if i > 0 {
			args = append(args, "--join", net.JoinHostPort("127.0.0.1", strconv.Itoa(launchGossipBase)))
		}
		n := &procNode{args: append(args, cfg.Extra...), http: http, grpc: grpc}
		c.nodes = append(c.nodes, n)
		if err := c.start(n, i); err != nil {
			return nil, errors.Join(err, c.Close())
		}
	}
	fmt.Fprintf(c.log, "launch: %d chorus nodes started (data and logs in %s); waiting for the ring\n", cfg.Nodes, c.dir)
	if err := c.waitReady(ctx, time.Minute); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

// start runs node i's process, its output appended to dir/node<i>.log.
func (c *procCluster) start(n *procNode, i int) error {
	logf, err := os.OpenFile(filepath.Join(c.dir, fmt.Sprintf("node%d.log", i)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	n.cmd = exec.Command(c.bin, n.args...)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	// The nodes die with this process, however it ends.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("launch: start node %d: %w", i, err)
	}
	n.exited = make(chan struct{})
	go func() {
		_ = n.cmd.Wait()
		logf.Close()
		close(n.exited)
	}()
	return nil
}

// waitReady polls every node's status until each sees all nodes in its
// ring and has no partition left to receive.
func (c *procCluster) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ready := true
		for i, n := range c.nodes {
			select {
			case <-n.exited:
				return fmt.Errorf("launch: node %d exited; see %s", i, filepath.Join(c.dir, fmt.Sprintf("node%d.log", i)))
			default:
			}
			if !nodeReady(ctx, n.http, len(c.nodes)) {
				ready = false
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("launch: the %d nodes did not form a ring within %v; logs in %s", len(c.nodes), limit, c.dir)
		case <-tick.C:
		}
	}
}

// nodeReady reports whether the node at httpAddr sees a ring of size
// nodes and has received its partitions.
func nodeReady(ctx context.Context, httpAddr string, nodes int) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/v1/status", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st struct {
		RingSize int `json:"ring_size"`
		Handoff  struct {
			Waiting  int `json:"waiting"`
			InFlight int `json:"in_flight"`
			Stalled  int `json:"stalled"`
		} `json:"handoff"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return false
	}
	return st.RingSize == nodes && st.Handoff.Waiting+st.Handoff.InFlight+st.Handoff.Stalled == 0
}

// Kill sends SIGKILL to node i and waits until it has exited.
func (c *procCluster) Kill(i int) error {
	if i < 0 || i >= len(c.nodes) {
		return fmt.Errorf("launch: no node %d", i)
	}
	n := c.nodes[i]
	if err := n.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("launch: kill node %d: %w", i, err)
	}
	<-n.exited
	return nil
}

// Restart starts node i again on its data directory; it rejoins the
// cluster on its own.
func (c *procCluster) Restart(i int) error {
	if i < 0 || i >= len(c.nodes) {
		return fmt.Errorf("launch: no node %d", i)
	}
	n := c.nodes[i]
	select {
	case <-n.exited:
	default:
		return fmt.Errorf("launch: node %d is still running", i)
	}
	return c.start(n, i)
}

// Endpoints returns the nodes' gRPC addresses.
func (c *procCluster) Endpoints() []string {
	var eps []string
	for _, n := range c.nodes {
		eps = append(eps, n.grpc)
	}
	return eps
}

// Close stops every node (SIGTERM, then SIGKILL after 10 s), and removes
// the data directory if launch created it.
func (c *procCluster) Close() error {
	for _, n := range c.nodes {
		if n.cmd != nil && n.cmd.Process != nil {
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, n := range c.nodes {
		if n.exited == nil {
			continue
		}
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
	}
	c.nodes = nil
	if c.owned {
		return os.RemoveAll(c.dir)
	}
	return nil
}

// startChorus starts a local 3-node cluster of node processes (bin, or
// this executable) and a client of it. The returned func closes both.
func startChorus(ctx context.Context, e *env, bin string) (*procCluster, *client.Client, func() error, error) {
	pc, err := launchCluster(ctx, launchConfig{Nodes: 3, Bin: bin, Log: e.stderr})
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := client.New(ctx, client.Config{Endpoints: pc.Endpoints()})
	if err != nil {
		return nil, nil, nil, errors.Join(err, pc.Close())
	}
	return pc, c, func() error { return errors.Join(c.Close(), pc.Close()) }, nil
}

// startEtcd starts a local 3-member etcd cluster, with its lifecycle
// lines on e's stderr and the members' own logs in a temporary file, and
// a Target on it (serializable reads if asked). The returned func closes
// both.
func startEtcd(ctx context.Context, e *env, serializable bool) (*etcdtarget.Cluster, *etcdtarget.Target, func() error, error) {
	logf, err := os.CreateTemp("", "chorus-etcd-*.log")
	if err != nil {
		return nil, nil, nil, err
	}
	fmt.Fprintf(e.stderr, "launch: etcd members' logs in %s (removed after a clean stop)\n", logf.Name())
	cc := etcdtarget.DefaultClusterConfig()
	cc.Log, cc.MemberLog = e.stderr, logf
	c, err := etcdtarget.StartCluster(ctx, cc)
	if err != nil {
		return nil, nil, nil, errors.Join(err, logf.Close())
	}
	stop := func() error {
		err := errors.Join(c.Close(), logf.Close())
		if err == nil {
			err = os.Remove(logf.Name())
		}
		return err
	}
	tc := etcdtarget.DefaultConfig()
	tc.Endpoints, tc.Serializable = c.Endpoints(), serializable
	t, err := etcdtarget.New(ctx, tc)
	if err != nil {
		return nil, nil, nil, errors.Join(err, stop())
	}
	return c, t, func() error { return errors.Join(t.Close(), stop()) }, nil
}
