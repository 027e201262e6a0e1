package memnet

import "fmt"

// DefaultMaxMsgSize is the default limit on one encoded message, each way.
// It matches transport.DefaultMaxMsgSize, so a cluster that works on memnet
// does not send messages a real server would refuse.
const DefaultMaxMsgSize = 16 << 20

// Config tunes a Network.
type Config struct {
	// Seed seeds the random source that decides which messages SetDrop
	// loses. Two networks with the same seed and the same sequence of
	// sends lose the same messages. Default 1.
	Seed int64
	// Blackhole makes a lost message (partition, node down, drop) block
	// the call until its context ends, as a real network timeout does,
	// instead of failing it at once with codes.Unavailable. Default false.
	Blackhole bool
	// MaxMsgSize bounds one encoded request or response in bytes; a
	// larger one fails the call with codes.ResourceExhausted, as a gRPC
	// server with the same limit would. Zero means no limit. Default
	// DefaultMaxMsgSize (16 MiB).
	MaxMsgSize int
}

// DefaultConfig returns the defaults described on Config.
func DefaultConfig() Config {
	return Config{Seed: 1, MaxMsgSize: DefaultMaxMsgSize}
}

// Validate reports the first invalid field of c, or nil.
func (c Config) Validate() error {
	if c.MaxMsgSize < 0 {
		return fmt.Errorf("memnet: Config.MaxMsgSize is %d, want >= 0", c.MaxMsgSize)
	}
	return nil
}
