package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/chorusdb/chorus/chorustest"
	"github.com/chorusdb/chorus/server"
)

// freeAddr returns a loopback address no one listens on at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// TestHealthWhileStarting: a node whose seed never answers serves HTTP
// while it keeps trying to join; /healthz answers 200 (the process is
// alive) and /readyz 503 with the ring check failed and saying why.
func TestHealthWhileStarting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := server.DefaultConfig()
	cfg.InMemory = true
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.GossipAddr = freeAddr(t), "127.0.0.1:0", "127.0.0.1:0"
	cfg.Join = []string{freeAddr(t)} // nothing answers there
	cfg.JoinTimeout = -1
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	done := make(chan error, 1)
	go func() {
		n, err := server.Start(ctx, cfg)
		if err == nil {
			err = n.Close()
			t.Errorf("Start joined a cluster no one serves")
		}
		done <- err
	}()
	httpc := &http.Client{Timeout: 10 * time.Second}
	var resp *http.Response
	chorustest.Eventually(t, "the starting node's HTTP listener", func() bool {
		var err error
		resp, err = httpc.Get("http://" + cfg.HTTPAddr + "/healthz")
		return err == nil
	})
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz while starting: %d, want 200", resp.StatusCode)
	}
	resp, err := httpc.Get("http://" + cfg.HTTPAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var r server.Readiness
	err = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || r.Ready() {
		t.Fatalf("/readyz while starting: %d %+v (%v), want 503 not ready", resp.StatusCode, r, err)
	}
	for _, c := range r.Checks {
		if c.Name == "ring" && (c.OK || c.Why == "") {
			t.Errorf("ring check while starting = %+v, want failed with a reason", c)
		}
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("Start returned no error when its context ended before the join")
	}
}
