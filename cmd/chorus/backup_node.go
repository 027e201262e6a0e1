package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/chorusdb/chorus/server"
)

// backupNodeFlags are chorus node's settings of the backups it serves.
type backupNodeFlags struct {
	keysPerSec, bytesPerSec int
	backoffAbove            time.Duration
}

func (f *backupNodeFlags) register(fl *pflag.FlagSet) {
	fl.IntVar(&f.keysPerSec, "backup-keys-per-second", server.DefaultBackupKeysPerSecond,
		"backup budget: keys this node's backup scans read per second, every replica's copy counted")
	fl.IntVar(&f.bytesPerSec, "backup-bytes-per-second", server.DefaultBackupBytesPerSecond,
		"backup budget: bytes this node's backup scans read per second")
	fl.DurationVar(&f.backoffAbove, "backup-backoff-above", 50*time.Millisecond,
		"pause backup scans while this node's recent client p99 latency is above this")
}

// apply sets cfg's backup settings; bad values are usage errors.
func (f *backupNodeFlags) apply(cfg *server.Config) error {
	if f.keysPerSec < 1 || f.bytesPerSec < 1 || f.backoffAbove <= 0 {
		return usageError("--backup-keys-per-second, --backup-bytes-per-second and --backup-backoff-above must be positive")
	}
	cfg.Backup.KeysPerSecond, cfg.Backup.BytesPerSecond = f.keysPerSec, f.bytesPerSec
	cfg.Backup.BackoffAbove = f.backoffAbove
	return nil
}
