package server

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/chorusdb/chorus/repair"
	"github.com/chorusdb/chorus/storage"
	"github.com/chorusdb/chorus/transport/memnet"
)

// Hints may not outlive the tombstone grace period.
func TestHintAgeCappedAtGrace(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tombstones.Grace = 10 * time.Minute
	if got := cfg.withDefaults().Hints.MaxAge; got != 10*time.Minute {
		t.Fatalf("hint MaxAge = %v, want the grace period", got)
	}
}

// A node whose last-alive mark is older than the grace period refuses to
// start unless forced.
func TestDownLongerThanGraceRefused(t *testing.T) {
	dir := t.TempDir()
	net := memnet.New(memnet.Config{Seed: 4})
	t.Cleanup(func() { _ = net.Close() })
	cfg := DefaultConfig()
	cfg.NodeID, cfg.DataDir, cfg.MemNet, cfg.Members = "a", dir, net, []string{"a"}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	start := func(cfg Config) error {
		n, err := Start(context.Background(), cfg)
		if err == nil {
			err = n.Close()
		}
		return err
	}
	if err := start(cfg); err != nil {
		t.Fatalf("first start: %v", err)
	}
	if err := start(cfg); err != nil {
		t.Fatalf("restart within the grace period: %v", err)
	}
	db, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := binary.BigEndian.AppendUint64(nil, uint64(time.Now().Add(-2*time.Hour).UnixNano()))
	if err := db.SetMeta(context.Background(), metaLastAlive, old); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := start(cfg); !errors.Is(err, ErrDownTooLong) {
		t.Fatalf("start after 2 h down = %v, want ErrDownTooLong", err)
	}
	cfg.ForceRejoin = true
	if err := start(cfg); err != nil {
		t.Fatalf("forced start: %v", err)
	}
	// The node writes its mark in the versioned form, and reads it back.
	db, err = storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mark, err := db.GetMeta(metaLastAlive)
	if err != nil || len(mark) != 9 || mark[0] != 1 {
		t.Fatalf("last-alive mark after a start = %x (%v), want version 1 and 8 time bytes", mark, err)
	}
	if err := db.SetMeta(context.Background(), metaLastAlive, repair.EncodeAliveMark(time.Now().Add(-2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.ForceRejoin = false
	if err := start(cfg); !errors.Is(err, ErrDownTooLong) {
		t.Fatalf("start after 2 h down (versioned mark) = %v, want ErrDownTooLong", err)
	}
}
