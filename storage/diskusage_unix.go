//go:build unix

package storage

import (
	"os"
	"syscall"
)

// allocated returns the bytes a file holds on disk: its blocks, so that a
// sparse or preallocated file (the engine's memtable logs and value log,
// the commit log's segments) counts what was written, not its length.
func allocated(info os.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return info.Size()
}
