// Package version tells which build of Chorus is running: the release
// version, the commit it was built from, whether the tree had local
// changes, and the Go toolchain.
//
// Version is set at link time:
//
//	go build -ldflags "-X github.com/chorusdb/chorus/version.Version=v0.3.0" ./cmd/chorus
//
// and is "dev" otherwise. The commit comes from the VCS stamp that go build
// records (runtime/debug.ReadBuildInfo); a build without one (go test, go
// run, -buildvcs=false, a source tree without .git) reports "unknown"
// rather than failing. The package imports nothing of the project, so
// every package may ask it.
package version
