package client

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// transportCredentials are TLS with cfg.TLS, or plaintext without it.
func transportCredentials(cfg Config) grpc.DialOption {
	if cfg.TLS == nil {
		return grpc.WithTransportCredentials(insecure.NewCredentials())
	}
	// NewTLS clones the config and adds the h2 protocol gRPC needs.
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg.TLS))
}

// tokenCredentials send cfg.Token with every call, if there is one.
func tokenCredentials(cfg Config) []grpc.DialOption {
	if cfg.Token == "" {
		return nil
	}
	return []grpc.DialOption{grpc.WithPerRPCCredentials(bearer{token: cfg.Token, requireTLS: !cfg.AllowTokenWithoutTLS})}
}

// bearer is a bearer token as per-RPC credentials.
type bearer struct {
	token      string
	requireTLS bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity makes gRPC itself refuse to send the token on a
// plaintext connection, whatever DialOptions say.
func (b bearer) RequireTransportSecurity() bool { return b.requireTLS }
