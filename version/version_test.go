package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want Info
	}{
		{"no build info", nil, Info{Commit: Unknown}},
		{"no vcs stamp (-buildvcs=false)", &debug.BuildInfo{GoVersion: "go1.99"},
			Info{Commit: Unknown, GoVersion: "go1.99"}},
		{"stamped", &debug.BuildInfo{GoVersion: "go1.99", Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
		}}, Info{Commit: rev, Dirty: true, CommitTime: "2026-01-02T03:04:05Z", GoVersion: "go1.99"}},
		{"clean tree", &debug.BuildInfo{Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"},
		}}, Info{Commit: rev}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			want.Version = Version
			if want.GoVersion == "" {
				want.GoVersion = runtime.Version()
			}
			want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if got := fromBuildInfo(tt.bi); got != want {
				t.Errorf("fromBuildInfo = %+v, want %+v", got, want)
			}
		})
	}
}

func TestString(t *testing.T) {
	in := Info{Version: "v1.2.3", Commit: "0123456789abcdef", Dirty: true, GoVersion: "go1.99", Platform: "linux/amd64"}
	if got, want := in.String(), "chorus v1.2.3 (commit 0123456789ab, dirty) go1.99 linux/amd64"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	in = Info{Version: "dev", Commit: Unknown, GoVersion: "go1.99", Platform: "linux/amd64"}
	if got, want := in.String(), "chorus dev (commit unknown) go1.99 linux/amd64"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestGetUsesVersionVar(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = "v9.9.9"
	if got := Get().Version; got != "v9.9.9" {
		t.Errorf("Get().Version = %q, want v9.9.9", got)
	}
}
