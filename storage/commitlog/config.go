package commitlog

import (
	"errors"
	"fmt"
)

// Config tunes a Log. The zero value of a field means its default.
type Config struct {
	// SegmentSize is the size each new segment is preallocated to (with
	// zeros), and the size at which Append moves to a new segment. A
	// preallocated file does not change size as records are appended, so
	// a sync writes the data without a size update. A batch larger than a
	// whole segment still fits: its segment grows past SegmentSize.
	// Default 64 MiB; between 4 KiB and 1 GiB.
	SegmentSize int64

	// Logf, if set, receives a line for each repair Open makes (a torn
	// tail cut off).
	Logf func(format string, args ...any)
}

const (
	defaultSegmentSize = 64 << 20
	minSegmentSize     = 4 << 10
	maxSegmentSize     = 1 << 30
)

// ErrBadConfig is wrapped by Config.Validate for an invalid field.
var ErrBadConfig = errors.New("commitlog: invalid config")

// DefaultConfig returns the configuration zero fields stand for.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	if c.SegmentSize == 0 {
		c.SegmentSize = defaultSegmentSize
	}
	return c
}

// Validate reports the first invalid field, wrapping ErrBadConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.SegmentSize < minSegmentSize || c.SegmentSize > maxSegmentSize {
		return fmt.Errorf("%w: SegmentSize = %d: must be in [%d, %d]", ErrBadConfig, c.SegmentSize, minSegmentSize, maxSegmentSize)
	}
	return nil
}
