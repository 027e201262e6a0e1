package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/chorusdb/chorus/antientropy"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/handoff"
	"github.com/chorusdb/chorus/pace"
	"github.com/chorusdb/chorus/replica"
	"github.com/chorusdb/chorus/ring"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// BackupConfig paces the backup scans a node serves and bounds the
// restore batches it takes. Zero fields take their defaults.
type BackupConfig struct {
	// KeysPerSecond bounds the keys this node's backup scans read per
	// second, every replica's copy counted (a partition of N replicas
	// costs N times its keys), over all backups it serves at once: the
	// budget that keeps foreground latency, as anti-entropy's does.
	// Default 30000.
	KeysPerSecond int
	// BytesPerSecond bounds the set bytes those scans read per second.
	// Default 16 MiB.
	BytesPerSecond int
	// PageKeys is the keys of one scan page asked of a replica. Default
	// 512.
	PageKeys int
	// MaxRestoreBytes bounds the body of one restore batch; larger ones
	// are refused with 413. Default 64 MiB.
	MaxRestoreBytes int64
	// ForegroundP99 reports the node's recent client-request p99 latency
	// (the node sets it, as for anti-entropy). While it is above
	// BackoffAbove, scans wait before their next page, doubling the wait
	// from 100 ms, at most MaxBackoff in all per page: background work
	// yields to foreground work, and a backup under lasting load still
	// moves a page every MaxBackoff. Nil: never back off.
	ForegroundP99 func() time.Duration
	// BackoffAbove is the p99 above which scans back off. Default 50 ms.
	BackoffAbove time.Duration
	// MaxBackoff caps the backoff waits before one page. Default 5 s: a
	// partition stream must keep moving well within its block write
	// deadline.
	MaxBackoff time.Duration
	// Clock paces the scans. Nil means real time.
	Clock clock.Clock
}

// Defaults of BackupConfig.
const (
	DefaultBackupKeysPerSecond  = 30000
	DefaultBackupBytesPerSecond = 16 << 20
	defaultBackupPageKeys       = 512
	defaultMaxRestoreBytes      = 64 << 20
	defaultBackupBackoffAbove   = 50 * time.Millisecond
	defaultBackupMaxBackoff     = 5 * time.Second
	backupFirstBackoff          = 100 * time.Millisecond
	// scanPageTimeout bounds one Scan page from a replica: a page is
	// at most maxScanKeys keys or maxScanBytes, read from local storage.
	scanPageTimeout = 30 * time.Second
	// restoreWorkers is how many keys of a batch a node restores at once:
	// enough to fill the internode batches, few enough not to crowd out
	// client writes.
	restoreWorkers = 64
	// restoreKeyTimeout bounds the merges of one key on its replicas.
	restoreKeyTimeout = 10 * time.Second
	// maxReportedFailures bounds the failed keys a restore answer names.
	maxReportedFailures = 20
	// backupScanFrom prefixes the From of a backup's Scan requests, so
	// that the source never takes them for a new owner's pull (handoff
	// notes a pull by From, and no node is called this).
	backupScanFrom = "backup:"
)

// DefaultBackupConfig returns the defaults described on BackupConfig.
func DefaultBackupConfig() BackupConfig {
	return BackupConfig{KeysPerSecond: DefaultBackupKeysPerSecond, BytesPerSecond: DefaultBackupBytesPerSecond,
		PageKeys: defaultBackupPageKeys, MaxRestoreBytes: defaultMaxRestoreBytes,
		BackoffAbove: defaultBackupBackoffAbove, MaxBackoff: defaultBackupMaxBackoff}
}

// Validate reports a negative field.
func (c BackupConfig) Validate() error {
	if c.KeysPerSecond < 0 || c.BytesPerSecond < 0 || c.PageKeys < 0 || c.MaxRestoreBytes < 0 ||
		c.BackoffAbove < 0 || c.MaxBackoff < 0 {
		return fmt.Errorf("backup: negative pacing or limit in %+v", c)
	}
	if c.PageKeys > maxScanKeys {
		return fmt.Errorf("backup: PageKeys %d exceeds a scan page's %d", c.PageKeys, maxScanKeys)
	}
	return nil
}

func (c BackupConfig) withDefaults() BackupConfig {
	d := DefaultBackupConfig()
	if c.KeysPerSecond == 0 {
		c.KeysPerSecond = d.KeysPerSecond
	}
	if c.BytesPerSecond == 0 {
		c.BytesPerSecond = d.BytesPerSecond
	}
	if c.PageKeys == 0 {
		c.PageKeys = d.PageKeys
	}
	if c.MaxRestoreBytes == 0 {
		c.MaxRestoreBytes = d.MaxRestoreBytes
	}
	if c.BackoffAbove == 0 {
		c.BackoffAbove = d.BackoffAbove
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}

// backupService serves the backup and restore routes of one node: it reads
// partitions from their replicas over the internode Scan RPC and merges
// restored sets into their replicas as replication does.
type backupService struct {
	self     string
	cfg      BackupConfig
	db       *storage.DB
	handoff  *handoff.Manager
	ring     func() *ring.Ring
	dial     internodeDialer
	peers    replica.Transport
	defaults replica.Options
	keys     *pace.Pacer
	bytes    *pace.Pacer
	log      *slog.Logger
}

// startBackup wires the backup service; the HTTP API serves it.
func (n *Node) startBackup(dial internodeDialer) error {
	if err := n.cfg.Backup.Validate(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	cfg := n.cfg.Backup
	if cfg.ForegroundP99 == nil {
		cfg.ForegroundP99 = n.metrics.recentP99
	}
	cfg = cfg.withDefaults()
	n.backup = &backupService{self: n.members.ID(), cfg: cfg, db: n.db, handoff: n.handoff,
		ring: n.coord.Ring, dial: dial, peers: n.peers, defaults: n.cfg.Defaults,
		keys: pace.New(float64(cfg.KeysPerSecond), cfg.Clock), bytes: pace.New(float64(cfg.BytesPerSecond), cfg.Clock),
		log: n.log.With("component", "backup")}
	return nil
}

// scanOrder is the order of a partition scan (storage.ScanPartition):
// by anti-entropy slot, then by key.
func scanOrder(a, b []byte) int {
	sa, sb := antientropy.Slot(a), antientropy.Slot(b)
	switch {
	case sa < sb:
		return -1
	case sa > sb:
		return 1
	}
	return bytes.Compare(a, b)
}

// pace charges a page's keys and bytes and waits off the longer debt,
// then waits while foreground latency is above the bar.
func (b *backupService) pace(ctx context.Context, keys, size int) error {
	d := max(b.keys.Reserve(keys), b.bytes.Reserve(size))
	if err := clock.Sleep(ctx, b.cfg.Clock, d); err != nil {
		return err
	}
	// The waits of one page are bounded, so that a stream under lasting
	// load still moves a page now and then rather than stall until its
	// write deadline cuts it.
	backoff, waited := backupFirstBackoff, time.Duration(0)
	for waited < b.cfg.MaxBackoff && b.cfg.ForegroundP99 != nil && b.cfg.ForegroundP99() > b.cfg.BackoffAbove {
		if err := clock.Sleep(ctx, b.cfg.Clock, backoff); err != nil {
			return err
		}
		waited += backoff
		backoff = min(2*backoff, b.cfg.MaxBackoff)
	}
	return nil
}

// page is one page of a replica's scan.
type page struct {
	keys     [][]byte
	sets     []vclock.Set
	size     int
	done     bool
	complete bool
}

// replicaCursor walks one replica's copy of a partition page by page
// (backup.Cursor), each page paced.
type replicaCursor struct {
	fetch    func(ctx context.Context, after []byte) (page, error)
	b        *backupService
	cur      page
	i        int
	after    []byte
	started  bool
	complete bool
}

func (c *replicaCursor) Next(ctx context.Context) ([]byte, vclock.Set, bool, error) {
	for c.i >= len(c.cur.keys) {
		if c.started && c.cur.done {
			return nil, vclock.Set{}, false, nil
		}
		p, err := c.fetch(ctx, c.after)
		if err != nil {
			return nil, vclock.Set{}, false, err
		}
		if err := c.b.pace(ctx, len(p.keys), p.size); err != nil {
			return nil, vclock.Set{}, false, err
		}
		c.cur, c.i, c.started, c.complete = p, 0, true, p.complete
		if n := len(p.keys); n > 0 {
			c.after = p.keys[n-1]
		}
	}
	k, s := c.cur.keys[c.i], c.cur.sets[c.i]
	c.i++
	return k, s, true, nil
}

// cursor returns the cursor of node's copy of partition p: this node's
// storage, or the node's Scan RPC.
func (b *backupService) cursor(node string, p uint32) *replicaCursor {
	c := &replicaCursor{b: b}
	if node == b.self {
		c.fetch = func(ctx context.Context, after []byte) (page, error) { return b.localPage(ctx, p, after) }
	} else {
		c.fetch = func(ctx context.Context, after []byte) (page, error) { return b.remotePage(ctx, node, p, after) }
	}
	return c
}

func (b *backupService) localPage(ctx context.Context, p uint32, after []byte) (page, error) {
	pg := page{complete: b.handoff.SourceComplete(p)}
	err := b.db.ScanPartitionAfter(ctx, p, after, func(key []byte, set vclock.Set) error {
		if len(pg.keys) >= b.cfg.PageKeys {
			return errPageFull
		}
		pg.keys, pg.sets = append(pg.keys, key), append(pg.sets, set)
		pg.size += len(key) + len(set.Encode())
		return nil
	})
	switch {
	case errors.Is(err, errPageFull):
	case err != nil:
		return page{}, err
	default:
		pg.done = true
	}
	return pg, nil
}

func (b *backupService) remotePage(ctx context.Context, node string, p uint32, after []byte) (page, error) {
	c, err := b.dial(node)
	if err != nil {
		return page{}, err
	}
	// A replica that went silent must leave the merge, not hold the
	// stream until its write deadline.
	ctx, cancel := context.WithTimeout(ctx, scanPageTimeout)
	defer cancel()
	rep, err := c.Scan(ctx, &pb.ScanRequest{From: backupScanFrom + b.self, Partition: p, After: after, Limit: uint32(b.cfg.PageKeys)})
	if err != nil {
		return page{}, fmt.Errorf("scan of %s: %w", node, err)
	}
	pg := page{done: rep.Done, complete: rep.Complete}
	for _, it := range rep.Items {
		set, err := vclock.Decode(it.Set)
		if err != nil {
			return page{}, fmt.Errorf("scan of %s: %w", node, err)
		}
		pg.keys, pg.sets = append(pg.keys, it.Key), append(pg.sets, set)
		pg.size += len(it.Key) + len(it.Set)
	}
	return pg, nil
}
