package vfs

import (
	"errors"
	"sync/atomic"
)

// Op names an FS or File operation, for an Injector.
type Op uint8

// The operations an Injector is asked about.
const (
	OpCreate Op = iota
	OpOpen
	OpRemove
	OpRename
	OpList
	OpMkdirAll
	OpSyncDir
	OpRead
	OpWrite
	OpSync
	OpTruncate
	OpSize
	OpClose
)

var opNames = [...]string{"create", "open", "remove", "rename", "list", "mkdirall", "syncdir",
	"read", "write", "sync", "truncate", "size", "close"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op?"
}

// ErrInjected is a convenient error for an Injector to return.
var ErrInjected = errors.New("vfs: injected fault")

// An Injector decides, before each operation of an InjectFS, whether it
// fails: a non-nil error is returned instead of doing the operation. It
// is called concurrently.
type Injector interface {
	MaybeError(op Op, name string) error
}

// InjectorFunc is a function used as an Injector.
type InjectorFunc func(op Op, name string) error

// MaybeError calls f.
func (f InjectorFunc) MaybeError(op Op, name string) error { return f(op, name) }

// FailNth returns an Injector that fails the nth operation of kind op
// (counting from 1) with err, and only that one.
func FailNth(op Op, n int64, err error) Injector {
	var count atomic.Int64
	return InjectorFunc(func(o Op, _ string) error {
		if o == op && count.Add(1) == n {
			return err
		}
		return nil
	})
}

// InjectFS is an FS whose operations first ask an Injector. Its zero
// Injector (none set) lets everything through.
type InjectFS struct {
	fs  FS
	inj atomic.Pointer[Injector]
}

// Inject wraps fs; inj may be nil and changed later with SetInjector.
func Inject(fs FS, inj Injector) *InjectFS {
	f := &InjectFS{fs: fs}
	f.SetInjector(inj)
	return f
}

// SetInjector replaces the Injector; nil removes it.
func (f *InjectFS) SetInjector(inj Injector) {
	if inj == nil {
		f.inj.Store(nil)
		return
	}
	f.inj.Store(&inj)
}

func (f *InjectFS) maybe(op Op, name string) error {
	if p := f.inj.Load(); p != nil {
		return (*p).MaybeError(op, name)
	}
	return nil
}

func (f *InjectFS) Create(name string) (File, error) {
	if err := f.maybe(OpCreate, name); err != nil {
		return nil, err
	}
	file, err := f.fs.Create(name)
	if err != nil {
		return nil, err
	}
	return &injectFile{f: file, fs: f, name: name}, nil
}

func (f *InjectFS) Open(name string) (File, error) {
	if err := f.maybe(OpOpen, name); err != nil {
		return nil, err
	}
	file, err := f.fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &injectFile{f: file, fs: f, name: name}, nil
}

func (f *InjectFS) Remove(name string) error {
	if err := f.maybe(OpRemove, name); err != nil {
		return err
	}
	return f.fs.Remove(name)
}

func (f *InjectFS) Rename(oldname, newname string) error {
	if err := f.maybe(OpRename, oldname); err != nil {
		return err
	}
	return f.fs.Rename(oldname, newname)
}

func (f *InjectFS) List(dir string) ([]string, error) {
	if err := f.maybe(OpList, dir); err != nil {
		return nil, err
	}
	return f.fs.List(dir)
}

func (f *InjectFS) MkdirAll(dir string) error {
	if err := f.maybe(OpMkdirAll, dir); err != nil {
		return err
	}
	return f.fs.MkdirAll(dir)
}

func (f *InjectFS) SyncDir(dir string) error {
	if err := f.maybe(OpSyncDir, dir); err != nil {
		return err
	}
	return f.fs.SyncDir(dir)
}

type injectFile struct {
	f    File
	fs   *InjectFS
	name string
}

func (i *injectFile) ReadAt(b []byte, off int64) (int, error) {
	if err := i.fs.maybe(OpRead, i.name); err != nil {
		return 0, err
	}
	return i.f.ReadAt(b, off)
}

func (i *injectFile) WriteAt(b []byte, off int64) (int, error) {
	if err := i.fs.maybe(OpWrite, i.name); err != nil {
		return 0, err
	}
	return i.f.WriteAt(b, off)
}

func (i *injectFile) Sync() error {
	if err := i.fs.maybe(OpSync, i.name); err != nil {
		return err
	}
	return i.f.Sync()
}

func (i *injectFile) Truncate(size int64) error {
	if err := i.fs.maybe(OpTruncate, i.name); err != nil {
		return err
	}
	return i.f.Truncate(size)
}

func (i *injectFile) Size() (int64, error) {
	if err := i.fs.maybe(OpSize, i.name); err != nil {
		return 0, err
	}
	return i.f.Size()
}

// Close always closes the file, even when the Injector fails it, so that
// tests leak no handles.
func (i *injectFile) Close() error {
	err := i.fs.maybe(OpClose, i.name)
	if cerr := i.f.Close(); err == nil {
		err = cerr
	}
	return err
}
