package procs

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"zero value takes the defaults", func(*Config) {}, ""},
		{"defaults", func(c *Config) { *c = DefaultConfig() }, ""},
		{"negative nodes", func(c *Config) { c.Nodes = -1 }, "Nodes -1"},
		{"ports past 65535", func(c *Config) { c.Nodes, c.GRPCBase = 3, 65534 }, "GRPCBase 65534"},
		{"negative port", func(c *Config) { c.HTTPBase = -5 }, "HTTPBase -5"},
		{"negative timeout", func(c *Config) { c.ReadyTimeout = -time.Second }, "must not be negative"},
		{"too few hosts", func(c *Config) { c.Nodes, c.Hosts = 3, []string{"127.0.0.2", "127.0.0.3"} }, "2 addresses for 3 nodes"},
		{"a host name", func(c *Config) { c.Nodes, c.Hosts = 1, []string{"node1"} }, `"node1" is not an IP`},
		{"hosts", func(c *Config) { c.Nodes, c.Hosts = 2, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} }, ""},
	}
	for _, tt := range tests {
		var c Config
		tt.edit(&c)
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v, want valid", tt.name, err)
		case tt.want != "" && (!errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an ErrInvalidConfig naming %q", tt.name, err, tt.want)
		}
	}
}

// freeBase returns a port p such that p and p+1 are free on loopback.
func freeBase(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+1))); err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0
}

// TestStartReportsExitedNode starts "nodes" that exit at once: Start
// fails naming the node's log, and removes the directory it created.
func TestStartReportsExitedNode(t *testing.T) {
	bin, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no false executable")
	}
	cfg := Config{Nodes: 2, Bin: bin, HTTPBase: freeBase(t), GRPCBase: freeBase(t), PeerBase: freeBase(t), GossipBase: freeBase(t), ReadyTimeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err == nil {
		c.Close()
		t.Fatal("Start succeeded with nodes that exit at once")
	}
	if !strings.Contains(err.Error(), "exited; see ") || !strings.Contains(err.Error(), ".log") {
		t.Errorf("Start: %v, want a node that exited and its log", err)
	}
	dir := err.Error()[strings.Index(err.Error(), "see ")+4:]
	dir = dir[:strings.LastIndex(dir, "/")]
	if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
		t.Errorf("directory %s left behind after a failed Start (stat: %v)", dir, serr)
	}
}

// TestStartRefusesBusyPort refuses to start beside a listener on a
// node's port, and starts no process.
func TestStartRefusesBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	cfg := Config{Nodes: 1, Bin: "/nonexistent/chorus", HTTPBase: freeBase(t), GRPCBase: busy, PeerBase: freeBase(t), GossipBase: freeBase(t), Dir: t.TempDir()}
	_, err = Start(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("Start beside a busy gRPC port: %v, want an in-use error", err)
	}
}

// TestPIDs runs a stand-in node (sleep) and checks that PIDs lists its
// process while it runs, and not once it was killed.
func TestPIDs(t *testing.T) {
	bin, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep executable")
	}
	dir := t.TempDir()
	c := &Cluster{cfg: Config{Bin: bin, Dir: dir, StopTimeout: 10 * time.Second}}
	c.nodes = append(c.nodes, &node{args: []string{"60"}, log: filepath.Join(dir, "node0.log")})
	if got := c.PIDs(); len(got) != 0 {
		t.Errorf("PIDs() = %v before the node started, want none", got)
	}
	if err := c.start(0); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, want := c.PIDs(), c.nodes[0].cmd.Process.Pid; len(got) != 1 || got[0] != want {
		t.Errorf("PIDs() = %v, want [%d]", got, want)
	}
	if err := c.Kill(0); err != nil {
		t.Fatal(err)
	}
	if got := c.PIDs(); len(got) != 0 {
		t.Errorf("PIDs() = %v after Kill, want none", got)
	}
}

// standIn writes an executable that ignores its arguments and sleeps, a
// node process that never answers.
func standIn(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "standin")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestHostsAndAdd checks that with Hosts each node listens on its own
// address and joins every node before it, and that Add starts one more on
// the next address.
func TestHostsAndAdd(t *testing.T) {
	dir := t.TempDir()
	base := freeBase(t)
	cfg := Config{Nodes: 2, Bin: standIn(t), Dir: dir, Hosts: []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"},
		HTTPBase: base, GRPCBase: base + 100, PeerBase: base + 200, GossipBase: base + 300, StopTimeout: 10 * time.Second}
	c := &Cluster{cfg: cfg.withDefaults()}
	defer c.Close()
	for i := range 2 {
		if err := c.add(i); err != nil {
			t.Fatal(err)
		}
	}
	i, err := c.Add()
	if err != nil || i != 2 {
		t.Fatalf("Add() = %d, %v; want node 2", i, err)
	}
	args := strings.Join(c.nodes[2].args, " ")
	for _, want := range []string{
		"--http-addr 127.0.0.4:" + strconv.Itoa(base+2),
		"--peer-addr 127.0.0.4:" + strconv.Itoa(base+202),
		"--gossip-addr 127.0.0.4:" + strconv.Itoa(base+302),
		"--join 127.0.0.2:" + strconv.Itoa(base+300) + ",127.0.0.3:" + strconv.Itoa(base+301),
	} {
		if !strings.Contains(args, want) {
			t.Errorf("node 2's arguments %q lack %q", args, want)
		}
	}
	if c.Host(1) != "127.0.0.3" || c.HTTPAddr(0) != "127.0.0.2:"+strconv.Itoa(base) || c.Len() != 3 {
		t.Errorf("Host(1) %s, HTTPAddr(0) %s, Len %d", c.Host(1), c.HTTPAddr(0), c.Len())
	}
	if _, err := c.Add(); err == nil || !strings.Contains(err.Error(), "no address left") {
		t.Errorf("Add past the hosts: %v, want an error", err)
	}
}

// procState returns the state letter of /proc/<pid>/stat (S, T, ...).
func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return f[0]
}

// TestPauseResume stops a stand-in node and continues it, and checks
// that Close ends a paused node with SIGTERM (continued first), not with
// the SIGKILL of a timeout.
func TestPauseResume(t *testing.T) {
	dir := t.TempDir()
	c := &Cluster{cfg: Config{Bin: standIn(t), Dir: dir, StopTimeout: time.Minute}}
	c.nodes = append(c.nodes, &node{log: filepath.Join(dir, "node0.log")})
	if err := c.start(0); err != nil {
		t.Fatal(err)
	}
	n := c.nodes[0]
	pid := n.cmd.Process.Pid
	if err := c.Pause(0); err != nil {
		t.Fatal(err)
	}
	chorustest.Eventually(t, "the paused process to stop", func() bool { return procState(t, pid) == "T" })
	if err := c.Resume(0); err != nil {
		t.Fatal(err)
	}
	chorustest.Eventually(t, "the resumed process to run", func() bool { return procState(t, pid) != "T" })
	if err := c.Pause(0); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	ws := n.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("the paused node ended with %v, want SIGTERM", n.cmd.ProcessState)
	}
	if err := c.Pause(0); err == nil {
		t.Error("Pause after Close succeeded")
	}
}

// TestClusterOnOwnAddresses builds chorus and runs three TLS nodes, each
// on its own loopback address, as the fault tests do: the ring forms, the
// certificates name every address, a client reads its own write, and a
// paused node comes back.
func TestClusterOnOwnAddresses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chorus and runs three node processes")
	}
	probe, err := net.Listen("tcp", "127.0.0.4:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.4 here: %v", err)
	}
	probe.Close()
	bin := filepath.Join(t.TempDir(), "chorus")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/chorusdb/chorus/cmd/chorus").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	base := freeBase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Config{Nodes: 3, Bin: bin, TLS: true, Hosts: []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"},
		HTTPBase: base, GRPCBase: base + 100, PeerBase: base + 200, GossipBase: base + 300})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := c.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := c.Pause(2); err != nil {
		t.Fatal(err)
	}
	if err := c.Resume(2); err != nil {
		t.Fatal(err)
	}
	chorustest.Eventually(t, "node 2 ready after its pause", func() bool { return c.Ready(ctx, 2, 3) })
}

// TestRejoinArgs: a restarted node names every other node as a seed,
// replacing the seeds it started with (node 0 started with none).
func TestRejoinArgs(t *testing.T) {
	c := &Cluster{cfg: Config{GossipBase: 7000, Hosts: []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}}}
	c.nodes = []*node{
		{args: []string{"node", "--name", "node0"}},
		{args: []string{"node", "--name", "node1", "--join", "127.0.0.2:7000", "--insecure"}},
		{args: []string{"node", "--name", "node2"}},
	}
	c.rejoinArgs(0)
	if got, want := strings.Join(c.nodes[0].args, " "), "node --name node0 --join 127.0.0.3:7001,127.0.0.4:7002"; got != want {
		t.Errorf("node 0 restarts with %q, want %q", got, want)
	}
	c.rejoinArgs(1)
	if got, want := strings.Join(c.nodes[1].args, " "), "node --name node1 --join 127.0.0.2:7000,127.0.0.4:7002 --insecure"; got != want {
		t.Errorf("node 1 restarts with %q, want %q", got, want)
	}
}
