package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/client"
)

// The plan as the nodes' HTTP API carries it (server.Plan, made of ring's
// Change, Size, PlannedMove and NodeFlow): the CLI reads the JSON and
// does not import ring.

// The change operations.
const (
	opJoin   = "join"
	opLeave  = "leave"
	opRemove = "remove"
)

type planChange struct {
	Op   string `json:"op"`
	Node string `json:"node"`
	Zone string `json:"zone,omitempty"`
}

type planSize struct {
	Keys  uint64 `json:"keys"`
	Bytes uint64 `json:"bytes"`
}

type planMove struct {
	Partition uint32 `json:"partition"`
	From      string `json:"from,omitempty"`
	To        string `json:"to"`
	planSize
}

type planFlow struct {
	Node          string   `json:"node"`
	PartitionsIn  int      `json:"partitions_in"`
	PartitionsOut int      `json:"partitions_out"`
	In            planSize `json:"in"`
	Out           planSize `json:"out"`
}

func newClusterCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Stage membership changes, preview what they move, then commit them",
		Long: `Stage membership changes as riak-admin cluster does: 'plan' shows what a
join, leave or remove would move (partitions, keys and bytes, per node, from
and to) before anything changes, and keeps the plan on the node; 'commit'
applies it, unless another ring change made it stale; 'clear' drops it.
chorus leave and chorus remove stay the direct path.`,
		Args: exactArgs(),
	}
	cmd.AddCommand(newPlanCmd(e), newCommitCmd(e), newClearCmd(e))
	return cmd
}

func newPlanCmd(e *env) *cobra.Command {
	var cf clientFlags
	var moves bool
	var joinAs planChange // the zone of joining nodes
	cmd := &cobra.Command{
		Use:   "plan [join|leave|remove NODE...]",
		Short: "Show what a membership change would move, and stage it",
		Long: `Compute what the change would move from the current ring and every live
node's per-partition key and byte counts, print it per node (in and out) and
in total, and stage the plan on the node this command talks to, with the
ring version it was made against. Without arguments, show the staged plan.
--moves lists every partition copy: partition, from, to, keys, bytes.

A join plan previews a node that is not started yet; it joins when it
starts with --join, and commit only says so.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 || (len(args) > 1 && !slices.Contains([]string{opJoin, opLeave, opRemove}, args[0])) {
				return usageError("want: chorus cluster plan join|leave|remove NODE..., or no arguments to show the staged plan")
			}
			h, ci, at, err := planTarget(cmd, &cf)
			if err != nil {
				return err
			}
			var plan planView
			if len(args) == 0 {
				err = h.sendJSON(cmd.Context(), http.MethodGet, at.HTTPAddr, "/v1/cluster/plan", nil, &plan)
			} else {
				plan, err = makePlan(cmd.Context(), e, h, ci, at, args[0], args[1:], joinAs)
			}
			if err != nil {
				return err
			}
			if e.jsonOutput() {
				return writeJSON(e.stdout, plan)
			}
			return printPlan(e.stdout, plan, moves)
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&moves, "moves", false, "list every partition copy the plan makes")
	cmd.Flags().StringVar(&joinAs.Zone, "zone", "", "zone of the joining nodes, as their chorus node --zone (join plans)")
	return cmd
}

// planView is a staged plan as a node answers it.
type planView struct {
	Changes     []planChange `json:"changes"`
	RingVersion uint64       `json:"ring_version"`
	Stale       bool         `json:"stale"`
	MadeBy      string       `json:"made_by"`
	MadeAt      time.Time    `json:"made_at"`
	Moves       []planMove   `json:"moves"`
	Nodes       []planFlow   `json:"nodes"`
	Partitions  int          `json:"partitions"`
	Total       planSize     `json:"total"`
}

// planTarget returns the node plans are kept on: the member this command
// reaches first through --endpoints, else the first live one by ID; every
// plan command picks the same node.
func planTarget(cmd *cobra.Command, cf *clientFlags) (*httpAPI, *client.ClusterInfo, client.Member, error) {
	h, err := cf.conn.http()
	if err != nil {
		return nil, nil, client.Member{}, err
	}
	ci, err := fetchCluster(cmd, cf)
	if err != nil {
		return nil, nil, client.Member{}, err
	}
	var live []client.Member
	for _, m := range ci.Members {
		if m.Alive && m.HTTPAddr != "" && m.Status != "removed" {
			live = append(live, m)
		}
	}
	if len(live) == 0 {
		return nil, nil, client.Member{}, errors.New("no live node with an HTTP address to keep the plan")
	}
	for _, ep := range cf.endpoints {
		for _, m := range live {
			if m.GRPCAddr == ep {
				return h, ci, m, nil
			}
		}
	}
	slices.SortFunc(live, func(a, b client.Member) int { return strings.Compare(a.ID, b.ID) })
	return h, ci, live[0], nil
}

// makePlan gathers every live node's partition sizes and asks at for the
// plan of op on nodes.
func makePlan(ctx context.Context, e *env, h *httpAPI, ci *client.ClusterInfo, at client.Member, op string, nodes []string, joinAs planChange) (planView, error) {
	req := struct {
		Changes []planChange                   `json:"changes"`
		Sizes   map[string]map[uint32]planSize `json:"sizes"`
	}{Sizes: map[string]map[uint32]planSize{}}
	for _, id := range nodes {
		c := planChange{Op: op, Node: id}
		if op == opJoin {
			c.Zone = joinAs.Zone
		}
		req.Changes = append(req.Changes, c)
	}
	for _, m := range ci.Members {
		if !m.Alive || m.HTTPAddr == "" || m.Status == "removed" {
			continue
		}
		var sz struct {
			Partitions map[uint32]planSize `json:"partitions"`
		}
		if err := h.getJSON(ctx, m.HTTPAddr, "/v1/partitions", &sz); err != nil {
			fmt.Fprintf(e.stderr, "%s: partition sizes unknown (%v); its moves are sized by the other replicas\n", m.ID, err)
			continue
		}
		req.Sizes[m.ID] = sz.Partitions
	}
	var plan planView
	err := h.sendJSON(ctx, http.MethodPost, at.HTTPAddr, "/v1/cluster/plan", req, &plan)
	return plan, err
}

func printPlan(w io.Writer, p planView, moves bool) error {
	var ch []string
	for _, c := range p.Changes {
		ch = append(ch, c.Op+" "+c.Node)
	}
	state := "staged"
	if p.Stale {
		state = "STALE (the ring changed since: make a new plan or clear it)"
	}
	fmt.Fprintf(w, "plan: %s\n%s on %s against ring version %d, made %s\n\n", strings.Join(ch, ", "), state,
		p.MadeBy, p.RingVersion, p.MadeAt.Local().Format(time.DateTime))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tPARTITIONS IN\tKEYS IN\tBYTES IN\tPARTITIONS OUT\tKEYS OUT\tBYTES OUT")
	for _, f := range p.Nodes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\t%s\n", f.Node, f.PartitionsIn, f.In.Keys, byteSize(f.In.Bytes),
			f.PartitionsOut, f.Out.Keys, byteSize(f.Out.Bytes))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if moves && len(p.Moves) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PARTITION\tFROM\tTO\tKEYS\tBYTES")
		for _, m := range p.Moves {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", m.Partition, orDash(m.From), m.To, m.Keys, byteSize(m.Bytes))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\n%d partitions, %d copies, %d keys, %s would move.\nApply it with: chorus cluster commit; drop it with: chorus cluster clear\n",
		p.Partitions, len(p.Moves), p.Total.Keys, byteSize(p.Total.Bytes))
	return err
}

func newCommitCmd(e *env) *cobra.Command {
	var cf clientFlags
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "commit",
		Short: "Apply the staged plan, unless the ring changed since it was made",
		Long: `Take the staged plan from its node and apply its changes in order: a
remove at once, a leave as chorus leave does (progress until the node has
handed off and stopped). A plan made stale by another ring change is refused
and kept (chorus cluster plan shows it; clear or re-plan it).`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, ci, at, err := planTarget(cmd, &cf)
			if err != nil {
				return err
			}
			var plan planView
			if err := h.sendJSON(cmd.Context(), http.MethodPost, at.HTTPAddr, "/v1/cluster/commit", nil, &plan); err != nil {
				return err
			}
			return applyPlan(cmd.Context(), e, h, ci, plan, cf.deadline(), wait)
		},
	}
	cf.register(cmd)
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Minute, "give up watching a leave after this long (the node keeps leaving)")
	return cmd
}

// applyPlan makes a committed plan's changes in order.
func applyPlan(ctx context.Context, e *env, h *httpAPI, ci *client.ClusterInfo, plan planView, deadline, wait time.Duration) error {
	for _, c := range plan.Changes {
		switch c.Op {
		case opRemove:
			if err := remove(ctx, e, h, ci, c.Node, deadline); err != nil {
				return fmt.Errorf("remove %s: %w", c.Node, err)
			}
		case opLeave:
			m, err := memberByID(ci, c.Node)
			if err != nil {
				return err
			}
			if !m.Alive || m.HTTPAddr == "" {
				return fmt.Errorf("node %s is not up to leave; remove it instead: chorus remove %s", c.Node, c.Node)
			}
			if err := leave(ctx, e, h, m, wait); err != nil {
				return err
			}
		case opJoin:
			fmt.Fprintf(e.stdout, "join %s: a node joins by starting with --join and any member's gossip address, as --name %s\n", c.Node, c.Node)
		}
	}
	return nil
}

func newClearCmd(e *env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "clear",
		Short: "Drop the staged plan",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, _, at, err := planTarget(cmd, &cf)
			if err != nil {
				return err
			}
			var res struct {
				Cleared bool `json:"cleared"`
			}
			if err := h.sendJSON(cmd.Context(), http.MethodDelete, at.HTTPAddr, "/v1/cluster/plan", nil, &res); err != nil {
				return err
			}
			return printTableOrJSON(e, res, func() error {
				msg := "plan cleared"
				if !res.Cleared {
					msg = "no plan was staged"
				}
				_, err := fmt.Fprintf(e.stdout, "%s (on %s)\n", msg, at.ID)
				return err
			})
		},
	}
	cf.register(cmd)
	return cmd
}

// sendJSON sends body (nil: none) as JSON with method to path on addr and
// decodes the answer into out; a 4xx answer is a usage error with the
// node's message.
func (h *httpAPI) sendJSON(ctx context.Context, method, addr, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.scheme+"://"+addr+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 4:
		return usageError("%s", errorBody(resp))
	case resp.StatusCode/100 != 2:
		return errors.New(errorBody(resp))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
