package vfs

import (
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"sync"
)

// MemFS is an in-memory FS that remembers what was synced, so that a test
// can take the state a crash of the machine would leave (Crash). All its
// methods and files are safe for concurrent use.
type MemFS struct {
	mu   sync.Mutex // guards everything below and every node's bytes
	dirs map[string]*memDir
}

// memDir is a directory: its entries now, and as of its last SyncDir.
type memDir struct {
	entries map[string]*memNode
	synced  map[string]*memNode
}

// memNode is a file's contents: what was written and what was synced.
// [lo, hi) covers every byte of data that may differ from synced, so that
// Sync copies only those (a preallocated segment is mostly zeros).
type memNode struct {
	data, synced []byte
	lo, hi       int64
}

// dirty widens the range Sync must copy.
func (n *memNode) dirty(lo, hi int64) {
	if n.lo == n.hi {
		n.lo, n.hi = lo, hi
		return
	}
	n.lo, n.hi = min(n.lo, lo), max(n.hi, hi)
}

// sync makes synced equal data.
func (n *memNode) sync() {
	size := int64(len(n.data))
	if int64(len(n.synced)) > size {
		n.synced = n.synced[:size:size]
	} else {
		n.synced = append(n.synced, make([]byte, size-int64(len(n.synced)))...)
	}
	if hi := min(n.hi, size); n.lo < hi {
		copy(n.synced[n.lo:hi], n.data[n.lo:hi])
	}
	n.lo, n.hi = 0, 0
}

// NewCrashableMem returns an empty MemFS; its root is both "." and "/".
func NewCrashableMem() *MemFS {
	m := &MemFS{dirs: map[string]*memDir{}}
	m.dirs["."] = newMemDir()
	m.dirs["/"] = newMemDir()
	return m
}

func newMemDir() *memDir {
	return &memDir{entries: map[string]*memNode{}, synced: map[string]*memNode{}}
}

// Crash returns a new MemFS holding what a crash of the machine would
// leave now: in each directory the entries of its last SyncDir, each file
// holding its last synced bytes. The receiver is unchanged and stays
// usable, so a process that is "dead" after the crash cannot touch the
// returned FS.
func (m *MemFS) Crash() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &MemFS{dirs: make(map[string]*memDir, len(m.dirs))}
	copies := map[*memNode]*memNode{} // one node renamed twice stays one file
	for path, d := range m.dirs {
		nd := newMemDir()
		for name, n := range d.synced {
			c, ok := copies[n]
			if !ok {
				c = &memNode{data: slices.Clone(n.synced), synced: slices.Clone(n.synced)}
				copies[n] = c
			}
			nd.entries[name] = c
			nd.synced[name] = c
		}
		out.dirs[path] = nd
	}
	return out
}

// split returns the directory of name and its base, or an error if the
// directory does not exist. The caller holds m.mu.
func (m *MemFS) split(op, name string) (*memDir, string, error) {
	name = filepath.Clean(name)
	d, ok := m.dirs[filepath.Dir(name)]
	if !ok {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return d, filepath.Base(name), nil
}

// Create creates a new file; it exists only until a crash unless its
// directory is synced.
func (m *MemFS) Create(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.split("create", name)
	if err != nil {
		return nil, err
	}
	if _, ok := d.entries[base]; ok {
		return nil, &fs.PathError{Op: "create", Path: name, Err: fs.ErrExist}
	}
	n := &memNode{}
	d.entries[base] = n
	return &memFile{fs: m, n: n, name: name}, nil
}

// Open opens an existing file.
func (m *MemFS) Open(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.split("open", name)
	if err != nil {
		return nil, err
	}
	n, ok := d.entries[base]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memFile{fs: m, n: n, name: name}, nil
}

// Remove removes a file; open handles keep working on its contents.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.split("remove", name)
	if err != nil {
		return err
	}
	if _, ok := d.entries[base]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(d.entries, base)
	return nil
}

// Rename moves a file, replacing newname.
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	od, obase, err := m.split("rename", oldname)
	if err != nil {
		return err
	}
	nd, nbase, err := m.split("rename", newname)
	if err != nil {
		return err
	}
	n, ok := od.entries[obase]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrNotExist}
	}
	delete(od.entries, obase)
	nd.entries[nbase] = n
	return nil
}

// List returns the sorted names of dir's files and subdirectories.
func (m *MemFS) List(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir = filepath.Clean(dir)
	d, ok := m.dirs[dir]
	if !ok {
		return nil, &fs.PathError{Op: "list", Path: dir, Err: fs.ErrNotExist}
	}
	names := slices.Collect(maps.Keys(d.entries))
	for path := range m.dirs {
		if path != dir && filepath.Dir(path) == dir {
			names = append(names, filepath.Base(path))
		}
	}
	slices.Sort(names)
	return names, nil
}

// MkdirAll creates dir and its parents; see the package comment for their
// durability.
func (m *MemFS) MkdirAll(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for dir = filepath.Clean(dir); ; dir = filepath.Dir(dir) {
		if _, ok := m.dirs[dir]; ok {
			return nil
		}
		m.dirs[dir] = newMemDir()
	}
}

// SyncDir makes dir's current entries the ones a crash keeps.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir = filepath.Clean(dir)
	d, ok := m.dirs[dir]
	if !ok {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: fs.ErrNotExist}
	}
	d.synced = maps.Clone(d.entries)
	return nil
}

// memFile is an open MemFS file.
type memFile struct {
	fs     *MemFS
	n      *memNode
	name   string
	closed bool // guarded by fs.mu
}

func (f *memFile) check(op string) error {
	if f.closed {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	return nil
}

func (f *memFile) ReadAt(b []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(b, f.n.data[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(b []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrInvalid}
	}
	end := off + int64(len(b))
	if end > int64(len(f.n.data)) {
		f.n.data = append(f.n.data, make([]byte, end-int64(len(f.n.data)))...)
	}
	f.n.dirty(off, end)
	return copy(f.n.data[off:], b), nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("truncate"); err != nil {
		return err
	}
	if size < 0 {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: fs.ErrInvalid}
	}
	old := int64(len(f.n.data))
	f.n.dirty(min(old, size), max(old, size))
	if size <= old {
		f.n.data = f.n.data[:size:size] // later growth must not reuse the cut bytes
		return nil
	}
	f.n.data = append(f.n.data, make([]byte, size-old)...)
	return nil
}

// Sync makes the file's current bytes the ones a crash keeps.
func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync"); err != nil {
		return err
	}
	f.n.sync()
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat"); err != nil {
		return 0, err
	}
	return int64(len(f.n.data)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("close"); err != nil {
		return err
	}
	f.closed = true
	return nil
}
