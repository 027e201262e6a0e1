package inject

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chorusdb/chorus/clock"
)

// Event is one fault as it was done: when it started and healed (from
// the start of the run, on the run's clock), and what went wrong.
type Event struct {
	Fault
	Started, Healed time.Duration
	// Err is the error of starting or healing it, empty if none.
	Err string
}

// Run applies plan in order on clk, each fault at its At and healed at
// its Heal (measured from Run's start), until the plan ends or ctx does;
// onEvent, if set, is called as each fault starts (Healed 0) and heals.
// Whatever happens, every fault in force is healed before Run returns
// (HealAll, on a context of its own: a cancelled run is healed too). A
// fault that fails to start is healed at once and the run goes on; Run
// returns the timeline and the errors of the steps that failed.
// A fault that fails to start is undone with HealAll, since part of it
// may be in force.
func Run(ctx context.Context, in *Injector, plan []Fault, clk clock.Clock, onEvent func(Event)) (events []Event, err error) {
	if clk == nil {
		clk = clock.Real{}
	}
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	start := clk.Now()
	var errs []error
	defer func() {
		hctx, cancel := context.WithTimeout(context.Background(), 2*in.cfg.LeaveTimeout)
		defer cancel()
		if herr := in.HealAll(hctx); herr != nil {
			errs = append(errs, fmt.Errorf("inject: heal all: %w", herr))
		}
		err = errors.Join(errs...)
	}()
	waitUntil := func(at time.Duration) error {
		return clock.Sleep(ctx, clk, at-clk.Since(start))
	}
	for _, f := range plan {
		if err := waitUntil(f.At); err != nil {
			return events, nil // the run ended: the deferred heal runs
		}
		ev := Event{Fault: f, Started: clk.Since(start)}
		if serr := in.Start(ctx, &ev.Fault); serr != nil {
			ev.Err = serr.Error()
			errs = append(errs, fmt.Errorf("inject: start %s: %w", f, serr))
		}
		onEvent(ev)
		if ev.Err == "" {
			if err := waitUntil(f.Heal); err != nil {
				events = append(events, ev)
				return events, nil
			}
		}
		heal := func() error { return in.Heal(ctx, ev.Fault) }
		if ev.Err != "" { // partly applied, maybe: undo whatever is in force
			heal = func() error { return in.HealAll(ctx) }
		}
		if herr := heal(); herr != nil {
			msg := "heal: " + herr.Error()
			if ev.Err != "" {
				msg = ev.Err + "; " + msg
			}
			ev.Err = msg
			errs = append(errs, fmt.Errorf("inject: heal %s: %w", f, herr))
		}
		ev.Healed = clk.Since(start)
		onEvent(ev)
		events = append(events, ev)
	}
	return events, nil
}
