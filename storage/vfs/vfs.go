package vfs

import (
	"io"
	"os"
	"path/filepath"
	"slices"
)

// FS is the part of a file system the commit log uses. Names are paths as
// path/filepath builds them. Errors are *fs.PathError values (or wrap
// them), so errors.Is(err, fs.ErrNotExist) and friends work.
type FS interface {
	// Create creates a new, empty file open for reading and writing. It
	// fails with fs.ErrExist if name exists.
	Create(name string) (File, error)
	// Open opens an existing file for reading and writing.
	Open(name string) (File, error)
	// Remove removes a file.
	Remove(name string) error
	// Rename renames a file, replacing newname if it exists.
	Rename(oldname, newname string) error
	// List returns the names (not paths) of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// MkdirAll creates dir and any missing parents.
	MkdirAll(dir string) error
	// SyncDir makes dir's entries durable: the files created, removed and
	// renamed in it so far survive a crash of the machine.
	SyncDir(dir string) error
}

// File is an open file. It is safe for concurrent use: one goroutine may
// Sync while another writes.
type File interface {
	io.ReaderAt
	// WriteAt writes b at off, extending the file if needed, with one
	// write call (pwrite): once it returns, a crash of the process alone
	// loses none of it.
	io.WriterAt
	io.Closer
	// Sync makes the data written so far durable (fdatasync on Linux).
	Sync() error
	// Truncate changes the file's size; growing it adds zeros (a sparse
	// extension on most file systems).
	Truncate(size int64) error
	// Size returns the file's current size.
	Size() (int64, error)
}

// Default is the operating system's file system.
var Default FS = osFS{}

type osFS struct{}

func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) Open(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) Remove(name string) error             { return os.Remove(name) }
func (osFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }
func (osFS) MkdirAll(dir string) error            { return os.MkdirAll(dir, 0o755) }

func (osFS) List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	slices.Sort(names)
	return names, nil
}

// SyncDir fsyncs the directory itself, which is what makes its entries
// durable on Linux file systems.
func (osFS) SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

type osFile struct{ f *os.File }

func (o osFile) ReadAt(b []byte, off int64) (int, error)  { return o.f.ReadAt(b, off) }
func (o osFile) WriteAt(b []byte, off int64) (int, error) { return o.f.WriteAt(b, off) }
func (o osFile) Close() error                             { return o.f.Close() }
func (o osFile) Truncate(size int64) error                { return o.f.Truncate(size) }
func (o osFile) Sync() error                              { return datasync(o.f) }

func (o osFile) Size() (int64, error) {
	fi, err := o.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
