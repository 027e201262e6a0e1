package server

import (
	"context"
	"errors"
	"time"

	"github.com/chorusdb/chorus/gossip"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/transport"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxTimeout caps a request's timeout.
const maxTimeout = time.Minute

// kvDialer resolves a node ID to a client of its KV service.
type kvDialer func(node string) (pb.KVClient, error)

// kvService is the node's client API, served over gRPC and, through
// newHTTPHandler, over HTTP. A write that reaches a node that is not a
// primary of its key is forwarded to a live primary, which coordinates
// it; reads are coordinated wherever they arrive.
type kvService struct {
	pb.UnimplementedKVServer
	self    string
	coord   *replica.Coordinator
	members membership
	dial    kvDialer
	// forwarder sends writes this node is not a primary of to one that is.
	forwarder *replica.Forwarder
	defaults  replica.Options
	metrics   *metrics
	// validKey is storage's check of a key (length), nil for none.
	validKey func(key []byte) error
}

func (k *kvService) Get(ctx context.Context, req *pb.GetRequest) (*pb.GetResponse, error) {
	start := time.Now()
	res, err := k.get(ctx, req)
	k.metrics.observeRequest("get", res.Sloppy, err, time.Since(start))
	if err != nil {
		return nil, answer(k.self, err)
	}
	values := res.Set.Values()
	k.metrics.observeSiblings(len(values))
	out := &pb.GetResponse{Found: len(values) > 0, Info: quorumInfo(res, true)}
	if !res.Set.IsEmpty() {
		out.Context = res.Set.Context().String()
	}
	for _, v := range values {
		out.Siblings = append(out.Siblings, &pb.Sibling{Value: v.Data, Timestamp: v.Timestamp})
	}
	return out, nil
}

func (k *kvService) get(ctx context.Context, req *pb.GetRequest) (replica.Result, error) {
	if err := k.checkKey(req.Key); err != nil {
		return replica.Result{}, err
	}
	opts := k.options(req.Quorum)
	if s := req.Quorum.GetReadRepair(); s != "" {
		mode, err := replica.ParseReadRepair(s)
		if err != nil {
			return replica.Result{}, err // InvalidArgument (toStatus)
		}
		opts.ReadRepair = mode
	}
	return k.coord.Get(ctx, req.Key, opts)
}

func (k *kvService) Put(ctx context.Context, req *pb.PutRequest) (*pb.PutResponse, error) {
	start := time.Now()
	res, fwd, err := k.write(ctx, "put", req.Key, req.Value, req.Context, req.Quorum, req.Forwarded,
		func(c pb.KVClient, ctx context.Context) (*pb.QuorumInfo, string, error) {
			f := &pb.PutRequest{Key: req.Key, Value: req.Value, Context: req.Context, Quorum: req.Quorum, Forwarded: true}
			r, err := c.Put(ctx, f)
			return r.GetInfo(), r.GetContext(), err
		})
	if fwd == nil {
		k.metrics.observeRequest("put", res.Sloppy, err, time.Since(start))
	}
	if err != nil {
		return nil, answer(k.self, err)
	}
	if fwd != nil {
		return &pb.PutResponse{Context: fwd.context, Info: fwd.info}, nil
	}
	return &pb.PutResponse{Context: res.Set.Context().String(), Info: quorumInfo(res, false)}, nil
}

func (k *kvService) Delete(ctx context.Context, req *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	start := time.Now()
	res, fwd, err := k.write(ctx, "delete", req.Key, nil, req.Context, req.Quorum, req.Forwarded,
		func(c pb.KVClient, ctx context.Context) (*pb.QuorumInfo, string, error) {
			f := &pb.DeleteRequest{Key: req.Key, Context: req.Context, Quorum: req.Quorum, Forwarded: true}
			r, err := c.Delete(ctx, f)
			return r.GetInfo(), r.GetContext(), err
		})
	if fwd == nil {
		k.metrics.observeRequest("delete", res.Sloppy, err, time.Since(start))
	}
	if err != nil {
		return nil, answer(k.self, err)
	}
	if fwd != nil {
		return &pb.DeleteResponse{Context: fwd.context, Info: fwd.info}, nil
	}
	return &pb.DeleteResponse{Context: res.Set.Context().String(), Info: quorumInfo(res, false)}, nil
}

// forwarded is the answer of the primary a write was forwarded to.
type forwarded struct {
	info    *pb.QuorumInfo
	context string
}

type forwardFunc func(c pb.KVClient, ctx context.Context) (*pb.QuorumInfo, string, error)

// write validates a put or delete, forwards it to a primary when this node
// is not one (replica.Forwarder: sent once, to one coordinator), and
// otherwise, or when it could be sent to none, coordinates it here.
func (k *kvService) write(ctx context.Context, op string, key, value []byte, ctxText string, q *pb.Quorum, wasForwarded bool, fwd forwardFunc) (replica.Result, *forwarded, error) {
	opts := k.options(q)
	if err := k.checkKey(key); err != nil {
		return replica.Result{}, nil, err
	}
	clientCtx, err := vclock.ParseContext(ctxText)
	if err != nil {
		return replica.Result{}, nil, status.Errorf(codes.InvalidArgument, "server: bad context %s: %v", quoteInput(ctxText), err)
	}
	if r := k.coord.Ring(); !wasForwarded && r != nil {
		var ans *forwarded
		send := func(ctx context.Context, node string) (replica.Delivery, error) {
			c, err := k.dial(node)
			if err != nil {
				return replica.NotSent, err
			}
			fctx, cancel := context.WithTimeout(ctx, opts.Timeout)
			defer cancel()
			info, text, err := fwd(c, fctx)
			if err == nil {
				ans = &forwarded{info: info, context: text}
			}
			return delivery(err), err
		}
		primaries := r.PreferenceList(key, opts.Fit(r.Size()).N)
		node, err := k.forwarder.Forward(ctx, op, primaries, r.Partition(key), send)
		if node != "" {
			return replica.Result{}, ans, err
		}
	}
	if op == "delete" {
		res, err := k.coord.Delete(ctx, key, clientCtx, opts)
		return res, nil, err
	}
	res, err := k.coord.Put(ctx, key, value, clientCtx, opts)
	return res, nil, err
}

// delivery classifies the outcome of a forwarded call: the coordinator's
// own answer (any status a Chorus handler sent, see transport.Answer), a
// call that never left, or one that may have been applied.
func delivery(err error) replica.Delivery {
	switch {
	case err == nil || transport.AnsweredBy(err) != "":
		return replica.Answered
	case transport.NotHandled(err):
		return replica.NotSent
	}
	return replica.Unknown
}

// options turns the request's quorum message into options, zero fields
// taking the node's defaults and marked so (replica.Options.Defaulted):
// the coordinator fits the defaulted counts to the ring's size
// (replica.Options.Fit), and validates the result.
func (k *kvService) options(q *pb.Quorum) replica.Options {
	o := k.defaults
	o.Defaulted = replica.AllDefaulted
	if q != nil {
		set := func(dst *int, defaulted *bool, v uint32) {
			if v != 0 {
				*dst, *defaulted = int(v), false
			}
		}
		set(&o.N, &o.Defaulted.N, q.N)
		set(&o.R, &o.Defaulted.R, q.R)
		set(&o.W, &o.Defaulted.W, q.W)
		set(&o.PR, &o.Defaulted.PR, q.Pr)
		set(&o.PW, &o.Defaulted.PW, q.Pw)
		if q.NotDurable {
			o.Durable = false
		}
		if q.TimeoutMs != 0 {
			o.Timeout = min(time.Duration(q.TimeoutMs)*time.Millisecond, maxTimeout)
		}
	}
	return o
}

// checkKey refuses a key the storage would refuse, for every op and before
// any fan-out or forward, so that a bad key is InvalidArgument everywhere
// rather than a quorum error made of the replicas' refusals.
func (k *kvService) checkKey(key []byte) error {
	if len(key) == 0 {
		return status.Error(codes.InvalidArgument, "server: empty key")
	}
	if k.validKey != nil {
		if err := k.validKey(key); err != nil {
			return status.Error(codes.InvalidArgument, "server: "+err.Error())
		}
	}
	return nil
}

// quorumInfo reports how a request was served: strict or sloppy, who
// answered, and the N and R (a read) or W (a write) it ran with.
func quorumInfo(res replica.Result, read bool) *pb.QuorumInfo {
	info := &pb.QuorumInfo{Sloppy: res.Sloppy, Replicas: res.Replicas, N: uint32(res.Options.N)}
	if read {
		info.R = uint32(res.Options.R)
	} else {
		info.W = uint32(res.Options.W)
	}
	return info
}

// toStatus maps an error to the gRPC status a client sees. A
// forwarded write's answer from its coordinator passes through as it is.
func toStatus(err error) error {
	if errors.Is(err, replica.ErrIndeterminate) {
		// gRPC's code for "the operation may have completed"; checked
		// first, as the cause inside may be a status of its own.
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var qe *replica.QuorumError
	code := codes.Internal
	switch {
	case errors.As(err, &qe):
		code = codes.Unavailable
	case errors.Is(err, replica.ErrInvalidOptions), errors.Is(err, storage.ErrEmptyKey),
		errors.Is(err, storage.ErrKeyTooLong), errors.Is(err, storage.ErrValueTooLarge),
		errors.Is(err, vclock.ErrCounterOverflow), errors.Is(err, vclock.ErrContextTooLarge):
		code = codes.InvalidArgument
	case errors.Is(err, storage.ErrTooManySiblings):
		code = codes.FailedPrecondition
	case errors.Is(err, replica.ErrNoRing), errors.Is(err, replica.ErrClosed), errors.Is(err, storage.ErrClosed):
		code = codes.Unavailable
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}

// answer is the error a KV handler of node self returns for err: its
// status (toStatus), marked as this node's own answer, so that a node
// that forwarded the request knows it was handled (transport.Answer).
func answer(self string, err error) error {
	if transport.AnsweredBy(err) != "" {
		return err
	}
	return transport.Answer(status.Convert(toStatus(err)), self)
}

// ClusterInfo describes the ring: every record, liveness, and the routing
// table clients use to send each key to a primary.
func (k *kvService) ClusterInfo(ctx context.Context, _ *pb.ClusterInfoRequest) (*pb.ClusterInfoResponse, error) {
	recs := k.members.Records()
	out := &pb.ClusterInfoResponse{RingVersion: k.members.RingHash()}
	index := make(map[string]uint32, len(recs))
	for i, r := range recs {
		index[r.ID] = uint32(i)
		out.Members = append(out.Members, memberInfo(r, k.members.Alive(r.ID)))
	}
	r := k.coord.Ring()
	if r == nil {
		return out, nil
	}
	out.Partitions, out.Replicas, out.RingSize = uint32(r.Partitions()), uint32(r.Replicas()), uint32(r.Size())
	for p := range r.Partitions() {
		for _, id := range replica.CoordinatorOrder(r.Primaries(uint32(p)), uint32(p)) {
			out.Owners = append(out.Owners, index[id])
		}
	}
	return out, nil
}

func memberInfo(r gossip.MemberRecord, alive bool) *pb.Member {
	st := r.Status.String()
	if !r.Placed && r.Status != gossip.StatusRemoved {
		st = "unplaced"
	}
	return &pb.Member{Id: r.ID, Zone: r.Zone, Weight: r.Weight, GrpcAddr: r.GRPCAddr,
		HttpAddr: r.HTTPAddr, Status: st, Alive: alive}
}
