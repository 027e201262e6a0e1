package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release version, set with -ldflags "-X
// github.com/chorusdb/chorus/version.Version=v0.x"; "dev" for a build
// that did not set it.
var Version = "dev"

// Unknown stands for a commit the build did not record.
const Unknown = "unknown"

// Info describes one build. The JSON keys are those of `chorus version -o
// json`.
type Info struct {
	// Version is Version at the time of the call.
	Version string `json:"version"`
	// Commit is the VCS revision built from, Unknown when not recorded.
	Commit string `json:"commit"`
	// Dirty is true when the tree built from had uncommitted changes.
	Dirty bool `json:"dirty"`
	// CommitTime is the commit's time as the VCS stamp gives it (RFC
	// 3339), empty when not recorded.
	CommitTime string `json:"commit_time,omitempty"`
	// GoVersion is the toolchain that built the binary (go1.26.8).
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Get returns the running binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi)
}

// fromBuildInfo reads the VCS stamp of bi, which may be nil (a binary
// built without module support) or lack the vcs settings.
func fromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Version: Version, Commit: Unknown, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		return in
	}
	if bi.GoVersion != "" {
		in.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if s.Value != "" {
				in.Commit = s.Value
			}
		case "vcs.modified":
			in.Dirty = s.Value == "true"
		case "vcs.time":
			in.CommitTime = s.Value
		}
	}
	return in
}

// ShortCommit is Commit cut to 12 characters, as git shows it.
func (in Info) ShortCommit() string {
	if len(in.Commit) > 12 && in.Commit != Unknown {
		return in.Commit[:12]
	}
	return in.Commit
}

// String is the one-line form: "chorus v0.3.0 (commit 0123456789ab,
// dirty) go1.26.8 linux/amd64".
func (in Info) String() string {
	commit := in.ShortCommit()
	if in.Dirty {
		commit += ", dirty"
	}
	return fmt.Sprintf("chorus %s (commit %s) %s %s", in.Version, commit, in.GoVersion, in.Platform)
}
