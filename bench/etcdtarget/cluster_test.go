package etcdtarget_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chorusdb/chorus/bench"
	"github.com/chorusdb/chorus/bench/etcdtarget"
)

// requireEtcd skips the test when etcd is not installed. Tests never
// install it: .ci/run does (scripts/install-etcd.sh), and a developer
// runs that script by hand.
func requireEtcd(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"etcd", "/usr/bin/etcd"} {
		if _, err := exec.LookPath(bin); err == nil {
			return
		}
	}
	t.Skip("etcd is not installed; run scripts/install-etcd.sh (as .ci/run does) to run this test")
}

// TestCluster runs the whole life of a 3-member cluster: start, requests
// and a short bench.Run through Target, losing the leader and writing on
// with the two remaining members, the leader's restart and catch-up, and
// Close leaving neither processes nor data behind.
func TestCluster(t *testing.T) {
	requireEtcd(t)
	ctx := t.Context()
	logPath := filepath.Join(t.TempDir(), "etcd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	dir := filepath.Join(t.TempDir(), "cluster")
	c, err := etcdtarget.StartCluster(ctx, etcdtarget.ClusterConfig{
		BasePort: freeBasePort(t, 6), Dir: dir, NoInstall: true, Log: logFile,
	})
	if err != nil {
		dumpLog(t, logPath)
		t.Fatalf("StartCluster: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			c.Close()
		}
		if t.Failed() {
			dumpLog(t, logPath)
		}
	}()
	eps := c.Endpoints()
	t0 := time.Now()
	t.Logf("cluster up: %v in %s", eps, c.Dir())

	tg := newTarget(t, etcdtarget.Config{Endpoints: eps})
	checkBasics(t, tg)
	checkRun(t, tg)
	t.Logf("%v: requests and run done", time.Since(t0).Round(time.Millisecond))

	// Lose the leader: the remaining two have quorum and elect another.
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatalf("Leader: %v", err)
	}
	pids := []int{c.PID(0), c.PID(1), c.PID(2)}
	if err := c.Kill(leader); err != nil {
		t.Fatalf("Kill(%d): %v", leader, err)
	}
	if err := c.Kill(leader); err == nil {
		t.Errorf("second Kill(%d) succeeded on a dead member", leader)
	}
	if pid := c.PID(leader); pid != 0 {
		t.Errorf("PID(%d) = %d after Kill, want 0", leader, pid)
	}
	if got := c.PIDs(); len(got) != 2 || slices.Contains(got, pids[leader]) {
		t.Errorf("PIDs() = %v after killing %d (pid %d), want the other two of %v", got, leader, pids[leader], pids)
	}
	const downKeys = 10
	for i := range downKeys {
		putRetry(t, tg, fmt.Sprintf("down-%d", i))
	}
	for i := range downKeys {
		if err := tg.Get(ctx, fmt.Appendf(nil, "down-%d", i)); err != nil {
			t.Errorf("Get(down-%d) with %d members: %v", i, len(eps)-1, err)
		}
	}
	t.Logf("%v: member %d (the leader) killed, %d writes done without it", time.Since(t0).Round(time.Millisecond), leader, downKeys)

	// Back: the restarted member catches up on what it missed.
	if err := c.Restart(ctx, (leader+1)%len(eps)); err == nil {
		t.Errorf("Restart of a running member succeeded")
	}
	if err := c.Restart(ctx, leader); err != nil {
		t.Fatalf("Restart(%d): %v", leader, err)
	}
	pids = append(pids, c.PID(leader))
	local := newTarget(t, etcdtarget.Config{Endpoints: eps[leader : leader+1], Serializable: true})
	lastKey := fmt.Appendf(nil, "down-%d", downKeys-1)
	for attempt := 0; ; attempt++ {
		err := local.Get(ctx, lastKey)
		if err == nil {
			break
		}
		if attempt == 100 {
			t.Fatalf("restarted member %d still lacks %s after %d reads: %v", leader, lastKey, attempt, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%v: member %d restarted and caught up", time.Since(t0).Round(time.Millisecond), leader)

	tg.Close()
	local.Close()
	closed = true
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s behind (stat: %v)", dir, err)
	}
	checkGone(t, pids)
}

func newTarget(t *testing.T, cfg etcdtarget.Config) *etcdtarget.Target {
	t.Helper()
	tg, err := etcdtarget.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New(%v): %v", cfg.Endpoints, err)
	}
	t.Cleanup(func() { tg.Close() })
	return tg
}

func checkBasics(t *testing.T, tg *etcdtarget.Target) {
	t.Helper()
	ctx := t.Context()
	key := []byte("basic")
	if err := tg.Put(ctx, key, []byte("v1")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := tg.Get(ctx, key); err != nil {
		t.Fatalf("Get after Put: %v", err)
	}
	if err := tg.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := tg.Get(ctx, key); !errors.Is(err, bench.ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want bench.ErrNotFound", err)
	}
	if err := tg.Delete(ctx, key); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
}

func checkRun(t *testing.T, tg *etcdtarget.Target) {
	t.Helper()
	cfg := bench.Config{Clients: 4, Ops: 500, Op: bench.OpMixed, Keys: 100}
	res, err := bench.Run(t.Context(), tg, cfg)
	if err != nil {
		t.Fatalf("bench.Run: %v", err)
	}
	if p := res.Preload; p == nil || p.Count != 100 || p.Errors != 0 {
		t.Fatalf("preload = %+v, want 100 puts without errors", p)
	}
	var total int64
	for _, s := range res.Ops {
		total += s.Count
		if s.Errors != 0 || s.Misses != 0 {
			t.Errorf("%s: %d errors %v, %d misses; want none", s.Op, s.Errors, s.ErrorKinds, s.Misses)
		}
		if s.Count == 0 {
			t.Errorf("%s: no operations in a mixed run of 500", s.Op)
		}
	}
	if len(res.Ops) != 2 || total != cfg.Ops {
		t.Errorf("run: %d op kinds, %d ops; want 2 kinds (put, get), %d ops", len(res.Ops), total, cfg.Ops)
	}
}

// putRetry writes key, retrying while the cluster elects a new leader.
// Bounded by attempts, not by time.
func putRetry(t *testing.T, tg *etcdtarget.Target, key string) {
	t.Helper()
	var err error
	for attempt := range 20 {
		if err = tg.Put(t.Context(), []byte(key), []byte("v")); err == nil {
			return
		}
		t.Logf("Put(%s) attempt %d: %s", key, attempt, tg.ErrorKind(err))
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("Put(%s) still failing after 20 attempts: %v", key, err)
}

// TestStartClusterFailureStopsMembers starts "members" that never answer
// (a script that records its pid and sleeps): StartCluster must give up
// after StartTimeout, stop every one of them and remove the directory.
func TestStartClusterFailureStopsMembers(t *testing.T) {
	tmp := t.TempDir()
	pidFile := filepath.Join(tmp, "pids")
	fake := filepath.Join(tmp, "fake-etcd")
	script := "#!/bin/sh\necho $$ >>" + pidFile + "\nexec sleep 300\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "cluster")
	_, err := etcdtarget.StartCluster(t.Context(), etcdtarget.ClusterConfig{
		BasePort: freeBasePort(t, 6), Dir: dir, Binary: fake, StartTimeout: time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "not healthy") {
		t.Fatalf("StartCluster with members that never answer = %v, want a 'not healthy' error", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("failed StartCluster left %s behind (stat: %v)", dir, err)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if len(pids) != 3 {
		t.Errorf("%d fake members started, want 3", len(pids))
	}
	checkGone(t, pids)
}

func TestStartClusterPortInUse(t *testing.T) {
	base := freeBasePort(t, 6)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(base+3)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = etcdtarget.StartCluster(t.Context(), etcdtarget.ClusterConfig{BasePort: base, Binary: "/nonexistent/etcd", NoInstall: true})
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(base+3)) {
		t.Errorf("StartCluster with port %d taken = %v, want an error naming it", base+3, err)
	}
}

// freeBasePort returns a base port with n free ports from it, near (but
// not at) the default 23790, so that a cluster left running by
// scripts/etcd.sh does not get in the way.
func freeBasePort(t *testing.T, n int) int {
	t.Helper()
	for base := 23900; base < 24900; base += 20 {
		free := true
		for p := base; p < base+n && free; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free ports in 23900-24900")
	return 0
}

// checkGone fails for each pid that still names a process.
func checkGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if pid == 0 {
			t.Errorf("pid 0 recorded: a member was not running when expected")
			continue
		}
		p, err := os.FindProcess(pid)
		if err != nil {
			continue
		}
		if err := p.Signal(syscall.Signal(0)); err == nil {
			t.Errorf("process %d still exists", pid)
		}
	}
}

func dumpLog(t *testing.T, path string) {
	t.Helper()
	data, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	t.Logf("last lines of the cluster log:\n%s", bytes.Join(lines, []byte("\n")))
}

// TestStartClusterRunsInstallScript checks that a missing binary makes
// StartCluster run the install script once, with its output in Log, and
// fail with ErrNoBinary when the script did not help.
func TestStartClusterRunsInstallScript(t *testing.T) {
	tmp := t.TempDir()
	marker := filepath.Join(tmp, "ran")
	script := filepath.Join(tmp, "install.sh")
	if err := os.WriteFile(script, []byte("echo installing nothing\necho x >>"+marker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	dir := filepath.Join(tmp, "cluster")
	_, err := etcdtarget.StartCluster(t.Context(), etcdtarget.ClusterConfig{
		BasePort: freeBasePort(t, 6), Dir: dir, Binary: "etcd-that-does-not-exist",
		InstallScript: script, Log: &log,
	})
	if !errors.Is(err, etcdtarget.ErrNoBinary) {
		t.Fatalf("StartCluster = %v, want ErrNoBinary", err)
	}
	if data, _ := os.ReadFile(marker); string(data) != "x\n" {
		t.Errorf("install script ran %d times, want once", bytes.Count(data, []byte("x")))
	}
	if !strings.Contains(log.String(), "installing nothing") {
		t.Errorf("Log lacks the script's output; got %q", log.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("StartCluster created %s before finding etcd", dir)
	}
}

// TestStartClusterNoInstall checks that NoInstall keeps StartCluster from
// running the install script: a missing binary is ErrNoBinary at once.
func TestStartClusterNoInstall(t *testing.T) {
	tmp := t.TempDir()
	marker := filepath.Join(tmp, "ran")
	script := filepath.Join(tmp, "install.sh")
	if err := os.WriteFile(script, []byte("echo x >>"+marker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := etcdtarget.StartCluster(t.Context(), etcdtarget.ClusterConfig{
		BasePort: freeBasePort(t, 6), Dir: filepath.Join(tmp, "cluster"), Binary: "etcd-that-does-not-exist",
		InstallScript: script, NoInstall: true,
	})
	if !errors.Is(err, etcdtarget.ErrNoBinary) {
		t.Fatalf("StartCluster = %v, want ErrNoBinary", err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the install script ran although NoInstall is set")
	}
}
