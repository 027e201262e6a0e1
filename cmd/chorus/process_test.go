package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/client"
)

// TestKillNineAndRestart runs three `chorus node` processes on loopback,
// secured as a deployment is (certificates from `chorus certs`: TLS on the
// client ports, mutual TLS between nodes, encrypted gossip), kills one
// with SIGKILL, keeps writing with W=2, restarts it from its data
// directory, waits until the hints the others kept for it drain, and then
// reads every write it missed from it alone.
func TestKillNineAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three node processes")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "chorus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	certsDir := filepath.Join(dir, "certs")
	for _, args := range [][]string{{"create-ca"}, {"create-node", "node", "127.0.0.1", "localhost"}, {"create-client", "root"}} {
		if r := runCLI(t, "", append(append([]string{"certs"}, args...), "--certs-dir", certsDir)...); r.code != 0 {
			t.Fatalf("chorus certs %v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	tlsCfg, err := certs.LoadClient(certsDir, "root")
	if err != nil {
		t.Fatal(err)
	}
	web := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 10 * time.Second}
	getStatus = func(httpAddr string) (*http.Response, error) { return web.Get("https://" + httpAddr + "/v1/status") }
	defer func() { getStatus = nil }()

	type node struct {
		args       []string
		http, grpc string
		cmd        *exec.Cmd
	}
	nodes := make([]*node, 3)
	var seed string
	addrs := freeAddrs(t, 4*len(nodes))
	for i := range nodes {
		httpA, grpcA, peerA, gossipA := addrs[4*i], addrs[4*i+1], addrs[4*i+2], addrs[4*i+3]
		args := []string{"node", "--name", fmt.Sprintf("node%d", i), "--data-dir", filepath.Join(dir, fmt.Sprintf("node%d", i)),
			"--http-addr", httpA, "--grpc-addr", grpcA, "--peer-addr", peerA, "--gossip-addr", gossipA, "--log-level", "warn", "--certs-dir", certsDir}
		if i == 0 {
			seed = gossipA
		} else {
			args = append(args, "--join", seed)
		}
		nodes[i] = &node{args: args, http: httpA, grpc: grpcA}
	}
	start := func(n *node) {
		n.cmd = exec.Command(bin, n.args...)
		n.cmd.Stdout, n.cmd.Stderr = os.Stderr, os.Stderr
		// The node dies with the test binary, should the test be killed.
		n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 30*time.Second, "node "+n.grpc+" to serve", func() bool {
			resp, err := getStatus(n.http)
			if err == nil {
				resp.Body.Close()
			}
			return err == nil && resp.StatusCode == http.StatusOK
		})
	}
	// Stop the nodes however the test ends, a failed start included.
	defer func() {
		for _, n := range nodes {
			if n.cmd != nil && n.cmd.Process != nil && n.cmd.ProcessState == nil {
				_ = n.cmd.Process.Signal(syscall.SIGTERM)
				_ = n.cmd.Wait()
			}
		}
	}()
	for _, n := range nodes {
		start(n)
	}

	cli, err := client.New(ctx, client.Config{Endpoints: []string{nodes[0].grpc, nodes[1].grpc}, TLS: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	waitUntil(t, 30*time.Second, "the 3-node ring", func() bool {
		info, err := cli.Cluster(ctx)
		return err == nil && info.RingSize == 3
	})

	victim := nodes[2]
	// A node that joined pulls its partitions' data (empty here) before it
	// counts toward R; kill it once it holds them, as a node in service.
	waitUntil(t, 60*time.Second, "node2's handoff", func() bool {
		st := nodeStatus(t, victim.http)
		return st.Handoff.Waiting+st.Handoff.InFlight+st.Handoff.Stalled == 0
	})
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = victim.cmd.Wait()
	const keys = 60
	for i := range keys {
		key := fmt.Appendf(nil, "k-%d", i)
		if _, err := cli.Put(ctx, key, fmt.Appendf(nil, "v-%d", i), client.WithW(2)); err != nil {
			t.Fatalf("put %s with node2 killed: %v", key, err)
		}
	}
	if queued := hintsQueued(t, nodes[0].http) + hintsQueued(t, nodes[1].http); queued < keys {
		t.Fatalf("the live nodes hold %d hints for %d writes node2 missed", queued, keys)
	}

	start(victim)
	waitUntil(t, 60*time.Second, "hints to drain", func() bool {
		return hintsQueued(t, nodes[0].http)+hintsQueued(t, nodes[1].http) == 0
	})
	// Stop the other two; node2 alone must hold every write it missed.
	for _, n := range nodes[:2] {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		_ = n.cmd.Wait()
	}
	alone, err := client.New(ctx, client.Config{Endpoints: []string{victim.grpc}, TLS: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Close()
	for i := range keys {
		key := fmt.Appendf(nil, "k-%d", i)
		res, err := alone.Get(ctx, key, client.WithR(1))
		if err != nil {
			t.Fatalf("get %s from node2 alone: %v", key, err)
		}
		v, err := res.Value()
		if want := fmt.Sprintf("v-%d", i); err != nil || string(v) != want {
			t.Fatalf("node2 after restart: %s = %q (%v), want %q", key, v, err, want)
		}
	}
}

// getStatus fetches a node's /v1/status, over TLS with the test's client
// certificate.
var getStatus func(httpAddr string) (*http.Response, error)

func hintsQueued(t *testing.T, httpAddr string) int {
	t.Helper()
	resp, err := getStatus(httpAddr)
	if err != nil {
		t.Fatalf("status of %s: %v", httpAddr, err)
	}
	defer resp.Body.Close()
	var st struct {
		Hints struct {
			Queued int `json:"queued"`
		} `json:"hints"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("status of %s: %v", httpAddr, err)
	}
	return st.Hints.Queued
}

// statusView is the part of /v1/status the process tests read.
type statusView struct {
	Handoff struct {
		Waiting  int `json:"waiting"`
		InFlight int `json:"in_flight"`
		Stalled  int `json:"stalled"`
	} `json:"handoff"`
}

func nodeStatus(t *testing.T, httpAddr string) statusView {
	t.Helper()
	var st statusView
	resp, err := getStatus(httpAddr)
	if err != nil {
		st.Handoff.Waiting = 1 // unknown: not done
		return st
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("status of %s: %v", httpAddr, err)
	}
	return st
}

// freeAddrs returns n distinct free loopback addresses. It holds every
// listener until all are chosen: closing each at once would let the
// kernel hand the same port out twice.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(l.Addr().(*net.TCPAddr).Port)))
	}
	return addrs
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
