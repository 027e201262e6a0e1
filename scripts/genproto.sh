#!/usr/bin/env bash
# Regenerates transport/pb from transport/pb/chorus.proto. Installs protoc
# from Debian and the Go plugins from the Go module proxy when missing; the
# generated code is committed, so only changing the .proto needs this.
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.5.1

if ! command -v protoc >/dev/null; then
	apt-get update -qq
	apt-get install -y -qq protobuf-compiler
fi

bin="$(go env GOPATH)/bin"
GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
GOBIN="$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}"

PATH="$bin:$PATH" protoc -I transport/pb \
	--go_out=transport/pb --go_opt=paths=source_relative \
	--go-grpc_out=transport/pb --go-grpc_opt=paths=source_relative \
	transport/pb/chorus.proto
echo "generated transport/pb"
