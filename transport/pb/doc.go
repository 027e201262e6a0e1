// Package pb holds the protobuf messages and gRPC service definitions of
// Chorus, generated from chorus.proto by scripts/genproto.sh. Do not edit
// the generated files; change the .proto and regenerate.
package pb
