package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/bench/etcdtarget"
	"github.com/chorusdb/chorus/bench/procs"
	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/transport/pb"
)

// fakeKV is a one-node cluster with a toy causal model: a write with an
// empty context adds a sibling, a write with a context replaces every
// sibling. Keys starting with "fail" fail with Unavailable.
type fakeKV struct {
	pb.UnimplementedKVServer
	addr string

	mu      sync.Mutex
	data    map[string][][]byte
	deleted map[string]bool
	version int
	quorum  *pb.Quorum // of the last request
	context string     // of the last write
	// httpAddr is node-a's HTTP address in ClusterInfo.
	httpAddr string
	// auth and user are the authorization metadata and the client
	// certificate's user of the last call.
	auth, user string
}

var errQuorum = status.Error(codes.Unavailable, "replica: write quorum not met (1/2)")

func startFake(t *testing.T) *fakeKV {
	t.Helper()
	return startFakeWith(t, nil)
}

// startFakeWith serves the fake over TLS with tlsCfg (nil: plaintext),
// recording each call's authorization metadata and certificate user.
func startFakeWith(t *testing.T, tlsCfg *tls.Config) *fakeKV {
	t.Helper()
	f := &fakeKV{data: map[string][][]byte{}, deleted: map[string]bool{}, httpAddr: "127.0.0.1:8080"}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = lis.Addr().String()
	opts := []grpc.ServerOption{grpc.UnaryInterceptor(f.record)}
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	srv := grpc.NewServer(opts...)
	pb.RegisterKVServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return f
}

// record notes the credentials of a call.
func (f *fakeKV) record(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	user := ""
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			user, _ = certs.Identity(&ti.State)
		}
	}
	f.mu.Lock()
	f.auth, f.user = strings.Join(md.Get("authorization"), ","), user
	f.mu.Unlock()
	return h(ctx, req)
}

// caller returns the credentials of the last call.
func (f *fakeKV) caller() (auth, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.auth, f.user
}

func (f *fakeKV) ClusterInfo(context.Context, *pb.ClusterInfoRequest) (*pb.ClusterInfoResponse, error) {
	f.mu.Lock()
	httpAddr := f.httpAddr
	f.mu.Unlock()
	return &pb.ClusterInfoResponse{
		Members: []*pb.Member{
			{Id: "node-a", Zone: "z1", GrpcAddr: f.addr, HttpAddr: httpAddr, Status: "active", Alive: true},
			{Id: "node-b", Zone: "z2", Status: "joining"},
		},
		Partitions: 2, Replicas: 1, RingVersion: 42, RingSize: 1, Owners: []uint32{0, 0},
	}, nil
}

func (f *fakeKV) Get(_ context.Context, r *pb.GetRequest) (*pb.GetResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.quorum = r.Quorum
	k := string(r.Key)
	if strings.HasPrefix(k, "fail") {
		return nil, errQuorum
	}
	resp := &pb.GetResponse{Info: &pb.QuorumInfo{Replicas: []string{"node-a"}}}
	if vs, ok := f.data[k]; ok {
		resp.Found = true
		resp.Context = fmt.Sprintf("ctx-%d", f.version)
		for _, v := range vs {
			resp.Siblings = append(resp.Siblings, &pb.Sibling{Value: v})
		}
	} else if f.deleted[k] {
		resp.Context = fmt.Sprintf("ctx-%d", f.version)
	}
	return resp, nil
}

func (f *fakeKV) write(key string, value []byte, ctx string, q *pb.Quorum, del bool) (string, *pb.QuorumInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.quorum, f.context = q, ctx
	if strings.HasPrefix(key, "fail") {
		return "", nil, errQuorum
	}
	f.version++
	switch {
	case del:
		delete(f.data, key)
		f.deleted[key] = true
	case ctx == "":
		f.data[key] = append(f.data[key], value)
	default:
		f.data[key] = [][]byte{value}
	}
	return fmt.Sprintf("ctx-%d", f.version), &pb.QuorumInfo{Sloppy: true, Replicas: []string{"node-a", "node-c"}}, nil
}

func (f *fakeKV) Put(_ context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	c, info, err := f.write(string(r.Key), r.Value, r.Context, r.Quorum, false)
	if err != nil {
		return nil, err
	}
	return &pb.PutResponse{Context: c, Info: info}, nil
}

func (f *fakeKV) Delete(_ context.Context, r *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	c, info, err := f.write(string(r.Key), nil, r.Context, r.Quorum, true)
	if err != nil {
		return nil, err
	}
	return &pb.DeleteResponse{Context: c, Info: info}, nil
}

func (f *fakeKV) last() (*pb.Quorum, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return proto.Clone(f.quorum).(*pb.Quorum), f.context
}

// result is what one run printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs chorus with args and stdin, for at most 10 s.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runCLIWithin(t, 10*time.Second, stdin, args...)
}

// runCLIWithin runs chorus with args and stdin, for at most limit.
func runCLIWithin(t *testing.T, limit time.Duration, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// must runs chorus against f (plaintext) and fails the test unless it exits with want.
func (f *fakeKV) must(t *testing.T, want int, args ...string) result {
	t.Helper()
	r := runCLI(t, "", append(args, "--endpoints", f.addr, "--insecure")...)
	if r.code != want {
		t.Fatalf("chorus %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// freePortOffset returns a --port-offset, a multiple of 1000, under which
// every port a local Chorus (3 nodes) and etcd (3 members) cluster would
// take is free now, so that a test starting them does not fail because
// something else holds the default ports.
func freePortOffset(t *testing.T) int {
	t.Helper()
	bases := []int{procs.DefaultHTTPBase, procs.DefaultGRPCBase, procs.DefaultPeerBase, procs.DefaultGossipBase}
	free := func(port int) bool {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return false
		}
		ln.Close()
		return true
	}
	for offset := 1000; offset <= 30000; offset += 1000 {
		ok := true
		for _, b := range bases {
			for i := range 3 {
				ok = ok && free(b+offset+i)
			}
		}
		for p := etcdtarget.DefaultBasePort + offset; ok && p < etcdtarget.DefaultBasePort+offset+6; p++ {
			ok = free(p)
		}
		if ok {
			return offset
		}
	}
	t.Fatal("no free block of ports for the local clusters at offsets 1000-30000")
	return 0
}
