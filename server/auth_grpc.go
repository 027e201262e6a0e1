package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/auth"
	"github.com/chorusdb/chorus/transport/pb"
)

// grpcRole is the role a gRPC method needs: reads and the cluster view
// need read, writes write, and anything else (the client listener serves
// nothing else) admin.
func grpcRole(fullMethod string) auth.Role {
	switch fullMethod {
	case pb.KV_Get_FullMethodName, pb.KV_ClusterInfo_FullMethodName:
		return auth.Read
	case pb.KV_Put_FullMethodName, pb.KV_Delete_FullMethodName:
		return auth.Write
	}
	return auth.Admin
}

// grpcAuth checks the credentials of the client gRPC listener's calls.
type grpcAuth struct {
	cfg *AuthConfig
	m   *metrics
	log *slog.Logger
}

// authServerOptions returns the interceptors that authorize every call of
// a gRPC server, for transport.ServerConfig.Options of the client
// listener only: nodes reach each other on the peer listener, whose mutual
// TLS with the node role is their authorization. m and log may be nil.
func authServerOptions(cfg *AuthConfig, m *metrics, log *slog.Logger) []grpc.ServerOption {
	if m == nil {
		m = newMetrics(metricsSources{})
	}
	if log == nil {
		log = slog.Default()
	}
	g := &grpcAuth{cfg: cfg, m: m, log: log}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(g.unary),
		grpc.ChainStreamInterceptor(g.stream),
	}
}

func (g *grpcAuth) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := g.authorize(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (g *grpcAuth) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := g.authorize(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}

// authorize decides one call from its peer's TLS state and its
// "authorization" metadata, and answers a refusal with Unauthenticated or
// PermissionDenied.
func (g *grpcAuth) authorize(ctx context.Context, method string) error {
	var cs *tls.ConnectionState
	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			cs = &info.State
		}
	}
	md, _ := metadata.FromIncomingContext(ctx) // keys are lower case
	creds, err := g.cfg.credentials(cs, md.Get("authorization"))
	if err == nil {
		_, err = g.cfg.Authorizer.Authorize(creds, grpcRole(method))
	}
	if err == nil {
		return nil
	}
	code, reason := denyCode(err)
	g.m.countDenied("grpc", reason)
	g.log.Debug("grpc: call refused", "method", method, "reason", denialMessage(err))
	return status.Error(code, denialMessage(err))
}

// denyCode is the gRPC code and metric reason of a refusal.
func denyCode(err error) (codes.Code, string) {
	if errors.Is(err, auth.ErrForbidden) {
		return codes.PermissionDenied, deniedForbidden
	}
	return codes.Unauthenticated, deniedUnauthenticated
}
