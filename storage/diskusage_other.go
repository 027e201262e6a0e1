//go:build !unix

package storage

import "os"

// allocated returns a file's length: without block counts, a sparse or
// preallocated file counts whole.
func allocated(info os.FileInfo) int64 { return info.Size() }
