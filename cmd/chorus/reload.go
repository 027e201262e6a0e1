package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// reloader is something a node re-reads on SIGHUP: its certificates, its
// auth file. Reload keeps the old state when the new one is bad.
type reloader struct {
	name   string
	reload func() error
}

// reloadOnHangup re-reads every reloader each time the process gets
// SIGHUP, logging what happened, until ctx ends or the returned stop is
// called; stop waits for the goroutine. A failed reload keeps the node
// running on what it had.
func reloadOnHangup(ctx context.Context, log *slog.Logger, rs []reloader) (stop func()) {
	if len(rs) == 0 {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				for _, r := range rs {
					if err := r.reload(); err != nil {
						log.Error("reload failed; keeping the previous "+r.name, "err", err)
					} else {
						log.Info("reloaded " + r.name)
					}
				}
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}
}
