package etcdtarget

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ErrNoBinary is wrapped by StartCluster's error when no etcd binary was
// found, even after running ClusterConfig.InstallScript.
var ErrNoBinary = errors.New("etcdtarget: etcd binary not found")

// stopGrace is how long Close waits after SIGTERM before SIGKILL.
const stopGrace = 10 * time.Second

// pollInterval is how often the health checks of StartCluster and Restart
// ask the members again, and checkTimeout bounds one check. A member that
// does not listen yet makes its check last checkTimeout (the client waits
// for a connection), so it is short; a running local member answers in
// milliseconds.
const (
	pollInterval = 100 * time.Millisecond
	checkTimeout = 500 * time.Millisecond
)

// Cluster is a local etcd cluster of separate etcd processes on loopback,
// with its data in one directory. Its methods are safe for concurrent use.
type Cluster struct {
	cfg   ClusterConfig
	bin   string
	token string
	log   *syncWriter
	// cli asks the members for their status during health checks.
	cli *clientv3.Client

	mu      sync.Mutex
	members []*member
	up      bool // became healthy once
	closed  bool
	waiters sync.WaitGroup // one per started process: cmd.Wait

	closeOnce sync.Once
	closeErr  error
}

// member is one etcd of the cluster; proc is its current process, nil
// before the first start.
type member struct {
	name       string
	clientPort int
	peerPort   int
	dataDir    string
	log        *prefixWriter
	proc       *process
}

// process is one run of a member. err is set before done is closed.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// StartCluster starts cfg.Members etcd processes and returns once each of
// them reports the same leader and a linearizable read through all of them
// succeeds, or after cfg.StartTimeout. ctx bounds the start; it does not
// bound the members' lives, which end with Close. On failure every process
// it started is stopped, and Dir is removed unless cfg.Keep.
//
// It fails before starting anything when one of the ports is in use, so
// that a forgotten cluster is reported rather than joined. When no etcd
// binary is found (even after the install script), the error wraps
// ErrNoBinary.
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := checkPortsFree(cfg.BasePort, 2*cfg.Members); err != nil {
		return nil, err
	}
	log := &syncWriter{w: cfg.Log}
	bin, err := findBinary(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		if cfg.Dir, err = os.MkdirTemp("", "etcd-cluster-"); err != nil {
			return nil, fmt.Errorf("etcdtarget: %w", err)
		}
	} else if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("etcdtarget: %w", err)
	}
	memberLog := log
	if cfg.MemberLog != nil {
		memberLog = &syncWriter{w: cfg.MemberLog}
	}
	c := &Cluster{
		cfg: cfg, bin: bin, log: log,
		token: fmt.Sprintf("chorus-bench-%d-%d", os.Getpid(), time.Now().UnixNano()),
	}
	for i := range cfg.Members {
		name := "etcd" + strconv.Itoa(i)
		c.members = append(c.members, &member{
			name:       name,
			clientPort: cfg.BasePort + 2*i,
			peerPort:   cfg.BasePort + 2*i + 1,
			dataDir:    filepath.Join(cfg.Dir, name),
			log:        &prefixWriter{prefix: name + "| ", w: memberLog},
		})
	}
	if err := c.start(ctx); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	c.logf("starting %d etcd members (%s) in %s, endpoints %s",
		len(c.members), c.bin, c.cfg.Dir, strings.Join(c.Endpoints(), ","))
	t0 := time.Now()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("etcdtarget: client: %w", err)
	}
	c.cli = cli
	all := make([]int, len(c.members))
	c.mu.Lock()
	for i := range c.members {
		all[i] = i
		if err = c.startMember(i, "new"); err != nil {
			break
		}
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.waitHealthy(ctx, all, true); err != nil {
		return err
	}
	c.mu.Lock()
	c.up = true
	c.mu.Unlock()
	c.logf("cluster healthy after %v", time.Since(t0).Round(time.Millisecond))
	return nil
}

// Endpoints returns the members' client URLs, member i at index i.
func (c *Cluster) Endpoints() []string { return localEndpoints(c.cfg.BasePort, c.cfg.Members) }

// Dir returns the directory holding the members' data.
func (c *Cluster) Dir() string { return c.cfg.Dir }

// PID returns the process id of member i, or 0 when it is not running.
func (c *Cluster) PID(i int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.members) {
		return 0
	}
	if p := c.members[i].proc; p != nil && !p.exited() {
		return p.cmd.Process.Pid
	}
	return 0
}

// PIDs returns the process ids of the members that are running, in
// member order.
func (c *Cluster) PIDs() []int {
	var pids []int
	for i := range c.cfg.Members {
		if pid := c.PID(i); pid != 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Leader returns the index of the member that the running members agree
// is the leader.
func (c *Cluster) Leader(ctx context.Context) (int, error) {
	c.mu.Lock()
	var running []int
	for i, m := range c.members {
		if m.proc != nil && !m.proc.exited() {
			running = append(running, i)
		}
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	sts, err := c.statuses(ctx, running)
	if err != nil {
		return -1, err
	}
	for i, st := range sts {
		if st != nil && st.Header != nil && st.Leader != 0 && st.Header.MemberId == st.Leader {
			return i, nil
		}
	}
	return -1, errors.New("etcdtarget: no running member is the leader")
}

// Kill sends SIGKILL to member i and waits until it has exited. It fails
// when the member is not running.
func (c *Cluster) Kill(i int) error {
	c.mu.Lock()
	p, err := c.runningLocked(i)
	if err == nil {
		err = p.cmd.Process.Kill()
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("etcdtarget: kill member %d: %w", i, err)
	}
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		return fmt.Errorf("etcdtarget: member %d did not exit %v after SIGKILL", i, stopGrace)
	}
	c.logf("killed %s (pid %d)", c.members[i].name, p.cmd.Process.Pid)
	return nil
}

// Restart starts member i again on its data directory (the member rejoins
// the cluster it belonged to) and waits, at most StartTimeout, until it
// answers and knows a leader. It fails when the member is running. When
// the wait fails, the member is left running: Close stops it.
func (c *Cluster) Restart(ctx context.Context, i int) error {
	c.mu.Lock()
	var err error
	switch {
	case c.closed:
		err = errClosedCluster
	case i < 0 || i >= len(c.members):
		err = fmt.Errorf("no member %d (cluster of %d)", i, len(c.members))
	case c.members[i].proc != nil && !c.members[i].proc.exited():
		err = errors.New("still running")
	default:
		err = c.startMember(i, "existing")
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("etcdtarget: restart member %d: %w", i, err)
	}
	if err := c.waitHealthy(ctx, []int{i}, false); err != nil {
		return err
	}
	c.logf("restarted %s", c.members[i].name)
	return nil
}

var errClosedCluster = errors.New("cluster closed")

// runningLocked returns member i's process if it is running.
func (c *Cluster) runningLocked(i int) (*process, error) {
	switch {
	case c.closed:
		return nil, errClosedCluster
	case i < 0 || i >= len(c.members):
		return nil, fmt.Errorf("no member %d (cluster of %d)", i, len(c.members))
	}
	p := c.members[i].proc
	if p == nil || p.exited() {
		return nil, errors.New("not running")
	}
	return p, nil
}

// Close stops every member (SIGTERM, then SIGKILL after 10 s), waits for
// them to exit, and removes Dir unless Keep. It is idempotent; later calls
// return the first call's result.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Cluster) close() error {
	c.mu.Lock()
	c.closed = true // no process starts after this
	up := c.up
	var procs []*process
	for _, m := range c.members {
		if m.proc != nil && !m.proc.exited() {
			procs = append(procs, m.proc)
		}
	}
	c.mu.Unlock()
	t0 := time.Now()
	// A leader that gets SIGTERM first hands leadership to a connected
	// follower, and when that follower is stopping too, it waits for the
	// transfer to time out (7 s with etcd's default timings). Stopping the
	// followers first leaves it no one to hand over to, so it exits at
	// once.
	followers, leaders := procs, []*process(nil)
	if up && len(procs) > 1 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if l, err := c.Leader(ctx); err == nil {
			followers, leaders = c.splitOff(procs, l)
		}
		cancel()
	}
	c.stop(procs, followers, leaders)
	// Every process has exited; this waits for the goroutines that
	// reaped them (and flushed their logs).
	c.waiters.Wait()
	var errs []error
	if c.cli != nil {
		if err := c.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("etcdtarget: close client: %w", err))
		}
	}
	if !c.cfg.Keep {
		if err := os.RemoveAll(c.cfg.Dir); err != nil {
			errs = append(errs, fmt.Errorf("etcdtarget: %w", err))
		}
	}
	c.logf("stopped %d members in %v", len(procs), time.Since(t0).Round(time.Millisecond))
	return errors.Join(errs...)
}

// splitOff returns procs without member i's process, and that process.
func (c *Cluster) splitOff(procs []*process, i int) (rest, split []*process) {
	c.mu.Lock()
	p := c.members[i].proc
	c.mu.Unlock()
	for _, q := range procs {
		if q == p {
			split = append(split, q)
		} else {
			rest = append(rest, q)
		}
	}
	return rest, split
}

// stop sends SIGTERM to each group of procs in turn and waits for the
// group to exit; once stopGrace has passed since the start, it sends
// SIGKILL to all of procs. It returns when every process has exited.
func (c *Cluster) stop(procs []*process, groups ...[]*process) {
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	killed := false
	for _, g := range groups {
		for _, p := range g {
			if !killed {
				_ = p.cmd.Process.Signal(syscall.SIGTERM)
			}
		}
		for _, p := range g {
			if killed {
				<-p.done
				continue
			}
			select {
			case <-p.done:
			case <-grace.C:
				c.logf("members still running %v after SIGTERM; sending SIGKILL", stopGrace)
				killed = true
				for _, q := range procs {
					_ = q.cmd.Process.Kill()
				}
				<-p.done
			}
		}
	}
}

// startMember starts member i with --initial-cluster-state state ("new"
// or "existing"). c.mu must be held.
func (c *Cluster) startMember(i int, state string) error {
	if c.closed {
		return errClosedCluster
	}
	m := c.members[i]
	// Not exec.CommandContext: the members live until Close, whatever
	// becomes of the context of the call that started them.
	cmd := exec.Command(c.bin, c.memberArgs(m, state)...)
	cmd.Env = etcdFreeEnv()
	cmd.SysProcAttr = sysProcAttr()
	if out := c.cfg.MemberLog; out != io.Discard && (out != nil || c.cfg.Log != io.Discard) {
		// The same comparable writer for both: exec then writes from one
		// goroutine at a time, so prefixWriter needs no lock.
		cmd.Stdout, cmd.Stderr = m.log, m.log
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("etcdtarget: start %s: %w", m.name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	m.proc = p
	c.waiters.Go(func() {
		err := cmd.Wait()
		m.log.flush()
		p.err = err
		close(p.done)
	})
	return nil
}

func (c *Cluster) memberArgs(m *member, state string) []string {
	peers := make([]string, len(c.members))
	for i, o := range c.members {
		peers[i] = o.name + "=" + peerURL(o.peerPort)
	}
	return []string{
		"--name", m.name,
		"--data-dir", m.dataDir,
		"--listen-client-urls", clientURL(m.clientPort),
		"--advertise-client-urls", clientURL(m.clientPort),
		"--listen-peer-urls", peerURL(m.peerPort),
		"--initial-advertise-peer-urls", peerURL(m.peerPort),
		"--initial-cluster", strings.Join(peers, ","),
		"--initial-cluster-state", state,
		"--initial-cluster-token", c.token,
		// 3.4's default logger (capnslog) is deprecated and says so.
		"--logger", "zap",
	}
}

func peerURL(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

// etcdFreeEnv returns the environment without ETCD_* variables: etcd reads
// them as flags, and a stray one (ETCD_DATA_DIR, ...) would change the
// members behind the flags' back.
func etcdFreeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitHealthy polls until the members idx are healthy, for at most
// StartTimeout: each answers a status request without errors and knows a
// leader, all agree on it, and with quorum also a linearizable read
// through the cluster's client succeeds. It fails at once when one of the
// members exits.
func (c *Cluster) waitHealthy(ctx context.Context, idx []int, quorum bool) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.StartTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if err := c.exitedMember(idx); err != nil {
			return err
		}
		err := c.healthy(ctx, idx, quorum)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcdtarget: members %v not healthy after %v: %w (last check: %v)",
				idx, c.cfg.StartTimeout, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (c *Cluster) exitedMember(idx []int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, i := range idx {
		m := c.members[i]
		if p := m.proc; p != nil && p.exited() {
			return fmt.Errorf("etcdtarget: %s exited while starting: %v (its output goes to ClusterConfig.Log)", m.name, p.err)
		}
	}
	return nil
}

func (c *Cluster) healthy(ctx context.Context, idx []int, quorum bool) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	sts, err := c.statuses(ctx, idx)
	if err != nil {
		return err
	}
	var leader uint64
	for _, i := range idx {
		st := sts[i]
		switch {
		case len(st.Errors) > 0:
			return fmt.Errorf("%s: %s", c.members[i].name, strings.Join(st.Errors, "; "))
		case st.Leader == 0:
			return fmt.Errorf("%s: no leader", c.members[i].name)
		case leader != 0 && st.Leader != leader:
			return fmt.Errorf("members disagree on the leader (%x, %x)", leader, st.Leader)
		}
		leader = st.Leader
	}
	if quorum {
		if _, err := c.cli.Get(ctx, "etcdtarget-health"); err != nil {
			return fmt.Errorf("linearizable read: %w", err)
		}
	}
	return nil
}

// statuses asks the members idx for their status in parallel; the result
// has an entry per member of the cluster, nil for those not asked.
func (c *Cluster) statuses(ctx context.Context, idx []int) ([]*clientv3.StatusResponse, error) {
	sts := make([]*clientv3.StatusResponse, len(c.members))
	errs := make([]error, len(c.members))
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Go(func() {
			sts[i], errs[i] = c.cli.Status(ctx, clientURL(c.members[i].clientPort))
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", c.members[i].name, errs[i])
			}
		})
	}
	wg.Wait()
	return sts, errors.Join(errs...)
}

func (c *Cluster) logf(format string, args ...any) {
	fmt.Fprintf(c.log, "etcdtarget: "+format+"\n", args...)
}

// findBinary resolves cfg.Binary, running cfg.InstallScript once when it
// is missing.
func findBinary(ctx context.Context, cfg ClusterConfig, log *syncWriter) (string, error) {
	if bin, err := lookBinary(cfg.Binary); err == nil {
		return bin, nil
	}
	if cfg.NoInstall {
		return "", fmt.Errorf("%w (Binary %q; installing is turned off)", ErrNoBinary, cfg.Binary)
	}
	if st, err := os.Stat(cfg.InstallScript); err != nil || st.IsDir() {
		return "", fmt.Errorf("%w (Binary %q; no install script at %q)", ErrNoBinary, cfg.Binary, cfg.InstallScript)
	}
	fmt.Fprintf(log, "etcdtarget: etcd not found; running %s\n", cfg.InstallScript)
	// A one-shot command: here the context may kill it.
	cmd := exec.CommandContext(ctx, "bash", cfg.InstallScript)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s failed: %w", ErrNoBinary, cfg.InstallScript, err)
	}
	bin, err := lookBinary(cfg.Binary)
	if err != nil {
		return "", fmt.Errorf("%w after running %s: %w", ErrNoBinary, cfg.InstallScript, err)
	}
	return bin, nil
}

func lookBinary(name string) (string, error) {
	if name != "" {
		return exec.LookPath(name)
	}
	if bin, err := exec.LookPath("etcd"); err == nil {
		return bin, nil
	}
	return exec.LookPath("/usr/bin/etcd")
}

// checkPortsFree fails when one of n ports from base is taken on
// 127.0.0.1, typically by a cluster that was not stopped.
func checkPortsFree(base, n int) error {
	for port := base; port < base+n; port++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("etcdtarget: port %d (of %d-%d) is not free; is another cluster running? %w",
				port, base, base+n-1, err)
		}
		l.Close()
	}
	return nil
}
