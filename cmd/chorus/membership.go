package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/client"
)

// transferView is the part of a node's /v1/transfers answer shown here.
type transferView struct {
	Waiting    int     `json:"waiting"`
	InFlight   int     `json:"in_flight"`
	Stalled    int     `json:"stalled"`
	Done       uint64  `json:"done"`
	Keys       uint64  `json:"keys"`
	Bytes      uint64  `json:"bytes"`
	Owed       int     `json:"owed"`
	Delivered  int     `json:"delivered"`
	KeysPerSec float64 `json:"keys_per_sec"`
	ETAMS      float64 `json:"eta_ms"`
	Transfers  []struct {
		Partition  uint32  `json:"partition"`
		State      string  `json:"state"`
		Source     string  `json:"source"`
		Keys       uint64  `json:"keys"`
		Progress   float64 `json:"progress"`
		KeysPerSec float64 `json:"keys_per_sec"`
		ETAMS      float64 `json:"eta_ms"`
		Error      string  `json:"error"`
	} `json:"transfers"`
}

// getTransfers reads one node's transfers.
func getTransfers(ctx context.Context, h *httpAPI, httpAddr string) (transferView, error) {
	var v transferView
	return v, h.getJSON(ctx, httpAddr, "/v1/transfers", &v)
}

func newTransfersCmd(e *env) *cobra.Command {
	var cf clientFlags
	var watch bool
	cmd := &cobra.Command{
		Use:   "transfers",
		Short: "Show ownership handoff: partitions waiting, in flight and done, per node",
		Long: `Show every live node's ownership handoff: the partitions it still pulls
after a ring change (waiting, in flight, stalled), those it finished, keys and
bytes received, and the handoffs it owes others. With --watch, repeat every
second until no transfer is left.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			for {
				pending, err := showTransfers(cmd, e, &cf)
				if err != nil || !watch || pending == 0 {
					return err
				}
				if err := waitSecond(cmd.Context()); err != nil {
					return err
				}
			}
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&watch, "watch", false, "repeat every second until no transfer is left")
	return cmd
}

// showTransfers prints every live node's transfers once and returns how
// many partitions are still to be pulled.
func showTransfers(cmd *cobra.Command, e *env, cf *clientFlags) (pending int, err error) {
	h, err := cf.conn.http()
	if err != nil {
		return 0, err
	}
	ci, err := fetchCluster(cmd, cf)
	if err != nil {
		return 0, err
	}
	views := map[string]transferView{}
	for _, m := range ci.Members {
		if !m.Alive || m.HTTPAddr == "" {
			continue
		}
		v, err := getTransfers(cmd.Context(), h, m.HTTPAddr)
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", m.ID, err)
			continue
		}
		views[m.ID] = v
		pending += v.Waiting + v.InFlight + v.Stalled
	}
	if e.jsonOutput() {
		return pending, writeJSON(e.stdout, views)
	}
	printTransfers(e.stdout, ci.Members, views)
	return pending, nil
}

// waitSecond waits a second, or returns ctx's error if it ends first.
func waitSecond(ctx context.Context) error {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func printTransfers(w io.Writer, members []client.Member, views map[string]transferView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tWAITING\tIN-FLIGHT\tSTALLED\tDONE\tKEYS\tBYTES\tKEYS/S\tETA\tOWED\tDELIVERED")
	for _, m := range members {
		v, ok := views[m.ID]
		if !ok {
			continue
		}
		eta := "-"
		if v.ETAMS > 0 {
			eta = msDuration(v.ETAMS).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f\t%s\t%d\t%d\n", m.ID, v.Waiting, v.InFlight, v.Stalled,
			v.Done, v.Keys, v.Bytes, v.KeysPerSec, eta, v.Owed, v.Delivered)
	}
	_ = tw.Flush()
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := false
	for _, m := range members {
		for _, t := range views[m.ID].Transfers {
			if t.State == "waiting" && t.Keys == 0 {
				continue
			}
			if !header {
				fmt.Fprintln(tw, "\nNODE\tPARTITION\tSTATE\tSOURCE\tKEYS\tPROGRESS\tKEYS/S\tETA\tERROR")
				header = true
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%.0f%%\t%.0f\t%s\t%s\n", m.ID, t.Partition, t.State, orDash(t.Source),
				t.Keys, 100*t.Progress, t.KeysPerSec, msDuration(t.ETAMS).Round(time.Second), orDash(t.Error))
		}
	}
	_ = tw.Flush()
}

// msDuration converts the milliseconds of a JSON _ms field.
func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// memberByID finds a member in the cluster's view.
func memberByID(ci *client.ClusterInfo, id string) (client.Member, error) {
	for _, m := range ci.Members {
		if m.ID == id {
			return m, nil
		}
	}
	return client.Member{}, usageError("no member %q in the cluster", id)
}

func newLeaveCmd(e *env) *cobra.Command {
	var cf clientFlags
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "leave NODE",
		Short: "Hand a node's data off, take it out of the ring and stop it",
		Long: `Ask node NODE to leave the cluster: it leaves the ring at once (writes go
to the nodes taking over its partitions), serves its data to them until each
has pulled its partitions and its hints are delivered, then stops. A line is
printed each time the handoff progresses, and a summary once the node has
stopped. --wait bounds how long this command watches (the node keeps
leaving); follow it then with: chorus transfers --watch.`,
		Args: exactArgs("NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := cf.conn.http()
			if err != nil {
				return err
			}
			ci, err := fetchCluster(cmd, &cf)
			if err != nil {
				return err
			}
			m, err := memberByID(ci, args[0])
			if err != nil {
				return err
			}
			if m.HTTPAddr == "" || !m.Alive {
				return fmt.Errorf("node %s is not up; a node that is gone for good is removed with: chorus remove %s", m.ID, m.ID)
			}
			return leave(cmd.Context(), e, h, m, wait)
		},
	}
	cf.register(cmd)
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Minute, "give up watching after this long (the node keeps leaving)")
	return cmd
}

// leaveView is a node's GET /v1/cluster/leave answer.
type leaveView struct {
	Leaving    bool    `json:"leaving"`
	Left       bool    `json:"left"`
	InRing     bool    `json:"in_ring"`
	Owed       int     `json:"owed"`
	Delivered  int     `json:"delivered"`
	Partitions int     `json:"partitions"`
	Keys       uint64  `json:"keys"`
	Bytes      uint64  `json:"bytes"`
	Hints      int     `json:"hints"`
	Waiting    int     `json:"waiting"`
	ElapsedMS  float64 `json:"elapsed_ms"`
}

// progressLine is what a leave prints when it changes.
func (v leaveView) progressLine() string {
	if v.InRing {
		return "leaving the ring"
	}
	line := fmt.Sprintf("handoffs delivered %d of %d (%d partitions, %d keys, %s sent), %d hints left",
		v.Delivered, v.Owed, v.Partitions, v.Keys, byteSize(v.Bytes), v.Hints)
	if older := v.Waiting - (v.Owed - v.Delivered); older > 0 {
		line += fmt.Sprintf(", %d handoffs of earlier ring changes still owed", older)
	}
	return line
}

// leavePoll is how often a leave's progress is read.
const leavePoll = 200 * time.Millisecond

// leave asks m to leave and shows its handoffs until it has stopped, or
// wait has passed.
func leave(ctx context.Context, e *env, h *httpAPI, m client.Member, wait time.Duration) error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := h.post(ctx, m.HTTPAddr, "/v1/cluster/leave"); err != nil {
		return err
	}
	// With -o json, progress goes to stderr and stdout gets one object.
	progress := e.stdout
	if e.jsonOutput() {
		progress = e.stderr
	}
	fmt.Fprintf(progress, "%s is leaving\n", m.ID)
	var last leaveView
	lastLine := ""
	for {
		var v leaveView
		polled := time.Now()
		// The node holds the request until it has left or leavePoll
		// passed, so the final counts are usually read before it stops.
		err := h.getJSON(ctx, m.HTTPAddr, "/v1/cluster/leave?wait="+leavePoll.String(), &v)
		var netErr *url.Error
		switch {
		case err == nil && v.Left:
			return leaveSummary(e, m.ID, v, time.Since(began), "has left")
		case err != nil && ctx.Err() == nil && errors.As(err, &netErr) && lastLine != "":
			// It answered before and no longer does: it has stopped,
			// as a node does once every handoff is delivered.
			return leaveSummary(e, m.ID, last, time.Since(began), "has left and stopped")
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("%s: reading its leave progress: %w", m.ID, err)
		case err == nil:
			if line := v.progressLine(); line != lastLine {
				fmt.Fprintf(progress, "%s  %s\n", elapsedStamp(time.Since(began)), line)
				lastLine = line
			}
			last = v
		}
		// An old node answers at once: pace the polls.
		if err := sleepCtx(ctx, time.Until(polled.Add(leavePoll))); err != nil {
			return fmt.Errorf("%s has not finished leaving after %v (%s; it keeps leaving: chorus transfers --watch): %w",
				m.ID, time.Since(began).Round(time.Millisecond), orDash(lastLine), context.Cause(ctx))
		}
	}
}

// leaveSummary prints the one line that ends a leave.
func leaveSummary(e *env, id string, v leaveView, took time.Duration, how string) error {
	took = took.Round(time.Millisecond)
	return printTableOrJSON(e, map[string]any{"node": id, "left": true, "partitions": v.Partitions,
		"handoffs": v.Owed, "keys": v.Keys, "bytes": v.Bytes, "elapsed_ms": took.Milliseconds()}, func() error {
		_, err := fmt.Fprintf(e.stdout, "%s %s: %d partitions handed off (%d handoffs, %d keys, %s) in %v\n",
			id, how, v.Partitions, v.Owed, v.Keys, byteSize(v.Bytes), took)
		return err
	})
}

// elapsedStamp is a progress line's time since the command began.
func elapsedStamp(d time.Duration) string { return fmt.Sprintf("[%6.1fs]", d.Seconds()) }

// sleepCtx waits d, or returns ctx's error if it ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// byteSize is n bytes in the largest binary unit that keeps it >= 1.
func byteSize(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func newRemoveCmd(e *env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "remove NODE",
		Short: "Take a node that is gone for good out of the ring",
		Long: `Remove node NODE from the ring, for a node that is gone for good (a node
that is up should leave instead: chorus leave NODE). The nodes that take over
its partitions pull them from the remaining replicas until every partition
has N copies again; follow them with: chorus transfers --watch.`,
		Args: exactArgs("NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := cf.conn.http()
			if err != nil {
				return err
			}
			ci, err := fetchCluster(cmd, &cf)
			if err != nil {
				return err
			}
			if _, err := memberByID(ci, args[0]); err != nil {
				return err
			}
			return remove(cmd.Context(), e, h, ci, args[0], cf.deadline())
		},
	}
	cf.register(cmd)
	return cmd
}

// remove asks the first other live node to take id out of the ring.
func remove(ctx context.Context, e *env, h *httpAPI, ci *client.ClusterInfo, id string, deadline time.Duration) error {
	for _, m := range ci.Members {
		if m.ID == id || !m.Alive || m.HTTPAddr == "" {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, deadline)
		defer cancel()
		if err := h.post(ctx, m.HTTPAddr, "/v1/cluster/remove/"+url.PathEscape(id)); err != nil {
			return err
		}
		return printTableOrJSON(e, map[string]any{"node": id, "removed": true, "via": m.ID}, func() error {
			_, err := fmt.Fprintf(e.stdout, "%s removed (via %s); follow the transfers with: chorus transfers --watch\n", id, m.ID)
			return err
		})
	}
	return errors.New("no other live node to ask")
}
