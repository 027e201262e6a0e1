package procs

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/client"
)

// Cluster is a local cluster of `chorus node` processes, each with its
// data under one directory. It owns the processes: Close stops them.
// Its methods are not safe for concurrent use.
type Cluster struct {
	cfg   Config
	owned bool // cfg.Dir was created by Start and is removed by Close
	nodes []*node
	// tls is the clients' configuration when Config.TLS is set; web
	// reads the nodes' status, over HTTPS then.
	tls *tls.Config
	web *http.Client
}

type node struct {
	args       []string
	log        string // path of its output
	http, grpc string
	cmd        *exec.Cmd
	exited     chan struct{} // closed when cmd.Wait returned
	paused     bool          // stopped by Pause (SIGSTOP), not yet resumed
}

// Start starts cfg.Nodes node processes, the first of which the others
// join, and waits until every node sees the whole ring with its
// partitions received. On error it stops what it started.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg.withDefaults()}
	if err := c.resolve(); err != nil {
		return nil, err
	}
	if err := c.issueCerts(); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	for i := range c.cfg.Nodes {
		if err := c.add(i); err != nil {
			return nil, errors.Join(err, c.Close())
		}
		// One join at a time, as Cassandra asks of its bootstraps: nodes
		// that join together can each gain partitions the others are
		// still pulling, and handoff then finds no holder with the
		// partition whole (see README, Next).
		if i < c.cfg.Nodes-1 {
			if err := c.waitNodeReady(ctx, i); err != nil {
				return nil, errors.Join(err, c.Close())
			}
		}
	}
	fmt.Fprintf(c.cfg.Log, "launch: %d chorus nodes started (data and logs in %s); waiting for the ring\n", c.cfg.Nodes, c.cfg.Dir)
	if err := c.waitReady(ctx); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

// certsSubdir holds the certificates Config.TLS issues, under Dir.
const certsSubdir = "certs"

// issueCerts writes the cluster's certificates when Config.TLS is set,
// and sets the clients' TLS configuration.
func (c *Cluster) issueCerts() error {
	c.web = &http.Client{Timeout: 5 * time.Second}
	if !c.cfg.TLS {
		return nil
	}
	dir := filepath.Join(c.cfg.Dir, certsSubdir)
	opts := certs.CreateOptions{Dir: dir, Overwrite: true}
	if err := certs.CreateCA(opts); err != nil {
		return fmt.Errorf("procs: %w", err)
	}
	if err := certs.CreateNode(opts, "node", append([]string{"127.0.0.1", "localhost"}, c.cfg.Hosts...)); err != nil {
		return fmt.Errorf("procs: %w", err)
	}
	if err := certs.CreateClient(opts, "root"); err != nil {
		return fmt.Errorf("procs: %w", err)
	}
	tc, err := certs.LoadClient(dir, "root")
	if err != nil {
		return fmt.Errorf("procs: %w", err)
	}
	c.tls = tc
	c.web.Transport = &http.Transport{TLSClientConfig: tc}
	return nil
}

// CertsDir returns the directory of the cluster's certificates, empty
// unless Config.TLS is set.
func (c *Cluster) CertsDir() string {
	if !c.cfg.TLS {
		return ""
	}
	return filepath.Join(c.cfg.Dir, certsSubdir)
}

// resolve fills in the executable and the directory.
func (c *Cluster) resolve() error {
	if c.cfg.Bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("procs: find this executable: %w", err)
		}
		c.cfg.Bin = exe
	}
	if c.cfg.Dir != "" {
		return nil
	}
	d, err := os.MkdirTemp("", "chorus-bench-")
	if err != nil {
		return fmt.Errorf("procs: %w", err)
	}
	c.cfg.Dir, c.owned = d, true
	return nil
}

// host returns node i's address.
func (c *Cluster) host(i int) string {
	if len(c.cfg.Hosts) == 0 {
		return "127.0.0.1"
	}
	return c.cfg.Hosts[i]
}

// add starts node i, after checking that its ports are free.
func (c *Cluster) add(i int) error {
	addr := func(base int) string { return net.JoinHostPort(c.host(i), strconv.Itoa(base+i)) }
	n := &node{http: addr(c.cfg.HTTPBase), grpc: addr(c.cfg.GRPCBase), log: filepath.Join(c.cfg.Dir, fmt.Sprintf("node%d.log", i))}
	for _, a := range []string{n.http, n.grpc, addr(c.cfg.PeerBase), addr(c.cfg.GossipBase)} {
		if conn, err := net.DialTimeout("tcp", a, 200*time.Millisecond); err == nil {
			conn.Close()
			return fmt.Errorf("procs: %s is in use: is another benchmark cluster running?", a)
		}
	}
	n.args = []string{"node", "--name", fmt.Sprintf("node%d", i), "--data-dir", filepath.Join(c.cfg.Dir, fmt.Sprintf("node%d", i)),
		"--http-addr", n.http, "--grpc-addr", n.grpc, "--peer-addr", addr(c.cfg.PeerBase), "--gossip-addr", addr(c.cfg.GossipBase),
		"--log-level", "warn"}
	if c.cfg.TLS {
		n.args = append(n.args, "--certs-dir", c.CertsDir())
	} else {
		n.args = append(n.args, "--insecure")
	}
	if i > 0 { // every node before it is a seed: any that is up lets it in
		var seeds []string
		for j := range i {
			seeds = append(seeds, net.JoinHostPort(c.host(j), strconv.Itoa(c.cfg.GossipBase+j)))
		}
		n.args = append(n.args, "--join", strings.Join(seeds, ","))
	}
	n.args = append(n.args, c.cfg.Extra...)
	c.nodes = append(c.nodes, n)
	return c.start(i)
}

// start runs node i's process, its output appended to its log.
func (c *Cluster) start(i int) error {
	n := c.nodes[i]
	logf, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("procs: %w", err)
	}
	n.cmd = exec.Command(c.cfg.Bin, n.args...)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = sysProcAttr()
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("procs: start node %d: %w", i, err)
	}
	n.exited = make(chan struct{})
	go func() { // owned by the node: ends when its process does
		_ = n.cmd.Wait()
		logf.Close()
		close(n.exited)
	}()
	return nil
}

// waitReady polls every node's status until each sees all nodes in its
// ring and has no partition left to receive. On timeout its error says
// what each node was still waiting for, with the end of its log.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var waiting []string
	for {
		w, err := c.notReady(ctx)
		if len(w) == 0 || err != nil {
			return err
		}
		if ctx.Err() == nil || waiting == nil { // keep the last poll the deadline did not cut short
			waiting = w
		}
		select {
		case <-ctx.Done():
			var b strings.Builder
			fmt.Fprintf(&b, "procs: the %d nodes did not form a ring within %v; logs in %s", len(c.nodes), c.cfg.ReadyTimeout, c.cfg.Dir)
			for _, w := range waiting {
				b.WriteString("\n  " + w)
			}
			for _, n := range c.nodes {
				fmt.Fprintf(&b, "\n  --- end of %s:\n%s", n.log, logTail(n.log, logTailLines))
			}
			return errors.New(b.String())
		case <-tick.C:
		}
	}
}

// waitNodeReady waits until node i sees a ring of the i+1 nodes started
// so far and has received its partitions, for at most ReadyTimeout.
func (c *Cluster) waitNodeReady(ctx context.Context, i int) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	n := c.nodes[i]
	why := "no answer yet"
	for {
		select {
		case <-n.exited:
			return fmt.Errorf("procs: node %d exited; see %s:\n%s", i, n.log, logTail(n.log, logTailLines))
		default:
		}
		w := c.nodeWaits(ctx, n.http, i+1)
		if w == "" {
			return nil
		}
		if ctx.Err() == nil { // not an answer cut short by the deadline
			why = w
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("procs: node %d did not join within %v (%s); see %s:\n%s", i, c.cfg.ReadyTimeout, why, n.log, logTail(n.log, logTailLines))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logTailLines is how much of each node's log a failed start shows.
const logTailLines = 8

// logTail returns the last lines of the file at path, indented.
func logTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "    (" + err.Error() + ")"
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	all = all[max(0, len(all)-lines):]
	return "    " + strings.Join(all, "\n    ")
}

// notReady returns, for each node not ready yet, what it waits for; an
// error if one exited.
func (c *Cluster) notReady(ctx context.Context) ([]string, error) {
	var waiting []string
	for i, n := range c.nodes {
		select {
		case <-n.exited:
			return nil, fmt.Errorf("procs: node %d exited; see %s:\n%s", i, n.log, logTail(n.log, logTailLines))
		default:
		}
		if why := c.nodeWaits(ctx, n.http, len(c.nodes)); why != "" {
			waiting = append(waiting, fmt.Sprintf("node%d (%s): %s", i, n.http, why))
		}
	}
	return waiting, nil
}

// status is the part of a node's GET /v1/status that readiness needs.
type status struct {
	RingSize int `json:"ring_size"`
	Handoff  struct {
		Waiting   int `json:"waiting"`
		InFlight  int `json:"in_flight"`
		Stalled   int `json:"stalled"`
		Transfers []struct {
			Partition int    `json:"partition"`
			Source    string `json:"source"`
			Error     string `json:"error"`
		} `json:"transfers"`
	} `json:"handoff"`
}

// nodeReady reports whether the node at httpAddr sees a ring of size
// nodes and has received its partitions.
func (c *Cluster) nodeReady(ctx context.Context, httpAddr string, nodes int) bool {
	return c.nodeWaits(ctx, httpAddr, nodes) == ""
}

// nodeWaits says what keeps the node at httpAddr from being ready (no
// answer, a smaller ring, partitions to receive); empty when it is.
func (c *Cluster) nodeWaits(ctx context.Context, httpAddr string, nodes int) string {
	scheme := "http://"
	if c.tls != nil {
		scheme = "https://"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+httpAddr+"/v1/status", nil)
	if err != nil {
		return err.Error()
	}
	resp, err := c.web.Do(req)
	if err != nil {
		return "status: " + err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "status: " + resp.Status
	}
	var st status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return "status: " + err.Error()
	}
	h := st.Handoff
	if st.RingSize == nodes && h.Waiting+h.InFlight+h.Stalled == 0 {
		return ""
	}
	why := fmt.Sprintf("ring of %d of %d nodes, partitions to receive: %d waiting, %d in flight, %d stalled",
		st.RingSize, nodes, h.Waiting, h.InFlight, h.Stalled)
	for _, t := range h.Transfers {
		if t.Error != "" {
			why += fmt.Sprintf("; partition %d from %s: %s", t.Partition, t.Source, t.Error)
			break
		}
	}
	return why
}

// Kill sends SIGKILL to node i and waits until it has exited.
func (c *Cluster) Kill(i int) error {
	if i < 0 || i >= len(c.nodes) {
		return fmt.Errorf("procs: no node %d", i)
	}
	n := c.nodes[i]
	if err := n.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("procs: kill node %d: %w", i, err)
	}
	<-n.exited
	n.paused = false // SIGKILL ends a stopped process too
	return nil
}

// Pause stops node i with SIGSTOP, as a stalled process or VM: it
// holds its sockets and answers nothing until Resume.
func (c *Cluster) Pause(i int) error {
	n, err := c.running(i)
	if err != nil {
		return err
	}
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("procs: pause node %d: %w", i, err)
	}
	n.paused = true
	return nil
}

// Resume continues node i after Pause (SIGCONT).
func (c *Cluster) Resume(i int) error {
	n, err := c.running(i)
	if err != nil {
		return err
	}
	if err := n.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return fmt.Errorf("procs: resume node %d: %w", i, err)
	}
	n.paused = false
	return nil
}

// running returns node i if its process runs.
func (c *Cluster) running(i int) (*node, error) {
	if i < 0 || i >= len(c.nodes) {
		return nil, fmt.Errorf("procs: no node %d", i)
	}
	n := c.nodes[i]
	select {
	case <-n.exited:
		return nil, fmt.Errorf("procs: node %d is not running", i)
	default:
	}
	return n, nil
}

// Add starts one more node, joining the others, and returns its index.
// It returns once the process started; Ready tells when the node has
// joined and received its partitions.
func (c *Cluster) Add() (int, error) {
	i := len(c.nodes)
	if len(c.cfg.Hosts) > 0 && i >= len(c.cfg.Hosts) {
		return 0, fmt.Errorf("procs: no address left in Hosts for node %d", i)
	}
	for name, base := range map[string]int{"HTTPBase": c.cfg.HTTPBase, "GRPCBase": c.cfg.GRPCBase, "PeerBase": c.cfg.PeerBase, "GossipBase": c.cfg.GossipBase} {
		if base+i > 65535 {
			return 0, fmt.Errorf("procs: %s %d leaves no port for node %d", name, base, i)
		}
	}
	if err := c.add(i); err != nil {
		if len(c.nodes) > i { // added but not started
			c.nodes = c.nodes[:i]
		}
		return 0, err
	}
	return i, nil
}

// Ready reports whether node i answers and sees a ring of size members
// with its partitions received.
func (c *Cluster) Ready(ctx context.Context, i, members int) bool {
	if _, err := c.running(i); err != nil {
		return false
	}
	return c.nodeReady(ctx, c.nodes[i].http, members)
}

// Running reports whether node i's process runs (paused counts as
// running).
func (c *Cluster) Running(i int) bool {
	_, err := c.running(i)
	return err == nil
}

// Len returns how many nodes the cluster has started, running or not.
func (c *Cluster) Len() int { return len(c.nodes) }

// Host returns node i's address; HTTPAddr its HTTP API's host:port.
func (c *Cluster) Host(i int) string { return c.host(i) }

// HTTPAddr returns node i's HTTP address (host:port).
func (c *Cluster) HTTPAddr(i int) string { return c.nodes[i].http }

// Restart starts node i again on its data directory, once it has
// exited; it rejoins the cluster on its own.
func (c *Cluster) Restart(i int) error {
	if i < 0 || i >= len(c.nodes) {
		return fmt.Errorf("procs: no node %d", i)
	}
	select {
	case <-c.nodes[i].exited:
	default:
		return fmt.Errorf("procs: node %d is still running", i)
	}
	c.rejoinArgs(i)
	return c.start(i)
}

// rejoinArgs makes node i's --join name every other node, as a
// deployment gives each node the same seeds: node 0 started first with
// none, and a node restarted without seeds is not seen alive again by
// peers that declared it dead (they stop probing it), so it must reach
// out to one of them.
func (c *Cluster) rejoinArgs(i int) {
	var seeds []string
	for j := range c.nodes {
		if j != i {
			seeds = append(seeds, net.JoinHostPort(c.host(j), strconv.Itoa(c.cfg.GossipBase+j)))
		}
	}
	if len(seeds) == 0 {
		return
	}
	n := c.nodes[i]
	if k := slices.Index(n.args, "--join"); k >= 0 {
		n.args[k+1] = strings.Join(seeds, ",")
		return
	}
	n.args = append(n.args, "--join", strings.Join(seeds, ","))
}

// Endpoints returns the nodes' gRPC addresses.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, n := range c.nodes {
		eps = append(eps, n.grpc)
	}
	return eps
}

// PIDs returns the process ids of the nodes that are running, in node
// order: the processes whose CPU time and memory a benchmark charges to
// the cluster.
func (c *Cluster) PIDs() []int {
	var pids []int
	for _, n := range c.nodes {
		if n.exited == nil {
			continue
		}
		select {
		case <-n.exited:
		default:
			pids = append(pids, n.cmd.Process.Pid)
		}
	}
	return pids
}

// Dir returns the directory of the nodes' data and logs.
func (c *Cluster) Dir() string { return c.cfg.Dir }

// Dial returns a client of the cluster's nodes; the caller closes it.
func (c *Cluster) Dial(ctx context.Context) (*client.Client, error) {
	cfg := client.DefaultConfig()
	cfg.Endpoints = c.Endpoints()
	cfg.TLS = c.tls
	return client.New(ctx, cfg)
}

// Close stops every node (SIGTERM, then SIGKILL after StopTimeout),
// waits for them, and removes the directory if Start created it.
func (c *Cluster) Close() error {
	for _, n := range c.nodes {
		if n.exited != nil {
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
			if n.paused { // a stopped process handles SIGTERM only once continued
				_ = n.cmd.Process.Signal(syscall.SIGCONT)
			}
		}
	}
	for _, n := range c.nodes {
		if n.exited != nil {
			c.awaitExit(n)
		}
	}
	c.nodes = nil
	if c.owned {
		return os.RemoveAll(c.cfg.Dir)
	}
	return nil
}

// awaitExit waits StopTimeout for n to exit, then kills it.
func (c *Cluster) awaitExit(n *node) {
	t := time.NewTimer(c.cfg.StopTimeout)
	defer t.Stop()
	select {
	case <-n.exited:
	case <-t.C:
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}
