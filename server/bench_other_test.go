//go:build !unix

package server_test

import "time"

// processCPU is measured on Unix systems only.
func processCPU() (time.Duration, bool) { return 0, false }
