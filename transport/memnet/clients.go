package memnet

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/transport/pb"
)

var (
	_ pb.KVClient        = kvClient{}
	_ pb.InternodeClient = internodeClient{}
)

// kvClient is the KV client of one directed link.
type kvClient struct {
	n        *Network
	from, to string
}

func (c kvClient) Get(ctx context.Context, in *pb.GetRequest, _ ...grpc.CallOption) (*pb.GetResponse, error) {
	return roundTrip(ctx, c.n, c.from, c.to, pb.KV_Get_FullMethodName, in,
		func(e endpoint) func(context.Context, *pb.GetRequest) (*pb.GetResponse, error) {
			if e.kv == nil {
				return nil
			}
			return e.kv.Get
		})
}

func (c kvClient) Put(ctx context.Context, in *pb.PutRequest, _ ...grpc.CallOption) (*pb.PutResponse, error) {
	return roundTrip(ctx, c.n, c.from, c.to, pb.KV_Put_FullMethodName, in,
		func(e endpoint) func(context.Context, *pb.PutRequest) (*pb.PutResponse, error) {
			if e.kv == nil {
				return nil
			}
			return e.kv.Put
		})
}

func (c kvClient) Delete(ctx context.Context, in *pb.DeleteRequest, _ ...grpc.CallOption) (*pb.DeleteResponse, error) {
	return roundTrip(ctx, c.n, c.from, c.to, pb.KV_Delete_FullMethodName, in,
		func(e endpoint) func(context.Context, *pb.DeleteRequest) (*pb.DeleteResponse, error) {
			if e.kv == nil {
				return nil
			}
			return e.kv.Delete
		})
}

func (c kvClient) ClusterInfo(ctx context.Context, in *pb.ClusterInfoRequest, _ ...grpc.CallOption) (*pb.ClusterInfoResponse, error) {
	return roundTrip(ctx, c.n, c.from, c.to, pb.KV_ClusterInfo_FullMethodName, in,
		func(e endpoint) func(context.Context, *pb.ClusterInfoRequest) (*pb.ClusterInfoResponse, error) {
			if e.kv == nil {
				return nil
			}
			return e.kv.ClusterInfo
		})
}

// internodeClient is the Internode client of one directed link.
type internodeClient struct {
	n        *Network
	from, to string
}

func (c internodeClient) Replicate(ctx context.Context, in *pb.ReplicateBatch, _ ...grpc.CallOption) (*pb.ReplicateAcks, error) {
	return roundTrip(ctx, c.n, c.from, c.to, pb.Internode_Replicate_FullMethodName, in,
		func(e endpoint) func(context.Context, *pb.ReplicateBatch) (*pb.ReplicateAcks, error) {
			if e.in == nil {
				return nil
			}
			return e.in.Replicate
		})
}

func (c internodeClient) Fetch(ctx context.Context, in *pb.FetchBatch, _ ...grpc.CallOption) (*pb.FetchReplies, error) {
	return roundTrip(ctx, c.n, c.from, c.to, pb.Internode_Fetch_FullMethodName, in,
		func(e endpoint) func(context.Context, *pb.FetchBatch) (*pb.FetchReplies, error) {
			if e.in == nil {
				return nil
			}
			return e.in.Fetch
		})
}

func (c internodeClient) Tree(ctx context.Context, in *pb.TreeRequest, _ ...grpc.CallOption) (*pb.TreeReply, error) {
	return roundTrip(ctx, c.n, c.from, c.to, pb.Internode_Tree_FullMethodName, in,
		func(e endpoint) func(context.Context, *pb.TreeRequest) (*pb.TreeReply, error) {
			if e.in == nil {
				return nil
			}
			return e.in.Tree
		})
}

func (c internodeClient) Collect(ctx context.Context, in *pb.CollectBatch, _ ...grpc.CallOption) (*pb.CollectAcks, error) {
	return roundTrip(ctx, c.n, c.from, c.to, pb.Internode_Collect_FullMethodName, in,
		func(e endpoint) func(context.Context, *pb.CollectBatch) (*pb.CollectAcks, error) {
			if e.in == nil {
				return nil
			}
			return e.in.Collect
		})
}

func (c internodeClient) Scan(ctx context.Context, in *pb.ScanRequest, _ ...grpc.CallOption) (*pb.ScanReply, error) {
	return roundTrip(ctx, c.n, c.from, c.to, pb.Internode_Scan_FullMethodName, in,
		func(e endpoint) func(context.Context, *pb.ScanRequest) (*pb.ScanReply, error) {
			if e.in == nil {
				return nil
			}
			return e.in.Scan
		})
}

func (c internodeClient) Ping(ctx context.Context, in *pb.PingRequest, _ ...grpc.CallOption) (*pb.PingReply, error) {
	return roundTrip(ctx, c.n, c.from, c.to, pb.Internode_Ping_FullMethodName, in,
		func(e endpoint) func(context.Context, *pb.PingRequest) (*pb.PingReply, error) {
			if e.in == nil {
				return nil
			}
			return e.in.Ping
		})
}

// Stream fails with codes.Unimplemented, as a node of a version before
// Internode.Stream answers: memnet simulates the unary calls only, so
// that every batch passes the link's faults as a call of its own, and
// transport.Peers falls back to them.
func (c internodeClient) Stream(context.Context, ...grpc.CallOption) (grpc.BidiStreamingClient[pb.PeerBatch, pb.PeerBatchReply], error) {
	return nil, status.Errorf(codes.Unimplemented, "memnet: %s -> %s: streams are not simulated", c.from, c.to)
}
