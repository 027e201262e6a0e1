package certs_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// The peer configs as gRPC uses them: the server and dial credentials are
// made once; gRPC clones the configs and sets ServerName on its clone.
func TestPeerConfigsOverGRPC(t *testing.T) {
	c := newCluster(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	mustOK(t, err)
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(c.node.PeerListener())))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	defer srv.Stop()
	addr := lis.Addr().String()

	check := func(creds credentials.TransportCredentials) error {
		t.Helper()
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
		mustOK(t, err)
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	if err := check(credentials.NewTLS(c.node.PeerDialTo(addr))); err != nil {
		t.Fatalf("PeerDialTo(%s): %v", addr, err)
	}
	// One shared config for every peer, as transport.Pool uses it.
	if err := check(credentials.NewTLS(c.node.PeerDial())); err != nil {
		t.Fatalf("PeerDial: %v", err)
	}
	// A node of another cluster is refused.
	other := newCluster(t)
	if err := check(credentials.NewTLS(other.node.PeerDial())); err == nil {
		t.Error("another cluster's node: accepted, want refused")
	}
}
