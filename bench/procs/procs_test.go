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
	"testing"
	"time"
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
