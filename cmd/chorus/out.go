package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/chorusdb/chorus/bench"
)

// configError turns a bench configuration error into a usage error
// (exit status 2), nil into nil.
func configError(err error) error {
	if err == nil {
		return nil
	}
	return usageError("%v", strings.TrimPrefix(err.Error(), bench.ErrInvalidConfig.Error()+": "))
}

// writeOut creates dir and writes each named file into it with its
// writer, which takes the file's path.
func writeOut(dir string, files map[string]func(path string) error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for name, write := range files {
		errs = append(errs, write(filepath.Join(dir, name)))
	}
	return errors.Join(errs...)
}

// jsonFile writes v as indented JSON.
func jsonFile(v any) func(string) error {
	return func(path string) error {
		js, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return os.WriteFile(path, append(js, '\n'), 0o644)
	}
}

// textFile writes s.
func textFile(s string) func(string) error {
	return func(path string) error { return os.WriteFile(path, []byte(s), 0o644) }
}
