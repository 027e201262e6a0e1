package chart

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// save writes the image that write produces to path, in the format named
// by path's extension, atomically: into a temporary file in the same
// directory (so the rename cannot cross file systems), synced, then
// renamed over path. On any error the temporary file is removed and path
// is left as it was.
func save(path string, write func(io.Writer, Format) error) (err error) {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("chart: save: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := writeFile(tmp, f, write); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("chart: save: %w", err)
	}
	return nil
}

// writeFile renders into tmp, makes it world-readable like a file made by
// os.Create (CreateTemp uses 0600), syncs and closes it.
func writeFile(tmp *os.File, f Format, write func(io.Writer, Format) error) error {
	bw := bufio.NewWriter(tmp)
	if err := write(bw, f); err != nil {
		return err
	}
	err := errors.Join(bw.Flush(), tmp.Chmod(0o644), tmp.Sync(), tmp.Close())
	if err != nil {
		return fmt.Errorf("chart: save: %w", err)
	}
	return nil
}
