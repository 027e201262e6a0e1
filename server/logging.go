package server

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Every log line of a node carries node=<its ID>, so that the logs of
// several nodes (a demo, a compose file, one collector for a cluster) can
// be told apart. The ID is not always known when the first components get
// their logger: without Config.NodeID it is read from the data directory
// or minted by gossip, after storage has opened. So the node's logger adds
// the attribute at each record, from a name set once the ID is known
// (nodeLogger), rather than through Logger.With at start. Lines logged
// before the ID is known (storage opening on a node started without
// Config.NodeID) go without it.
//
// The key node then always means the node that logs: a record that names
// this node under node again keeps one, and one that names another node
// under node (gossip's "liveness changed", say) shows it as peer, so that
// a JSON line never has the key twice (collectors keep the last one).

// nodeNameHandler adds node=<name> to every record once name is set.
type nodeNameHandler struct {
	inner slog.Handler
	name  *atomic.Pointer[string]
}

// NamedLogger returns a logger writing to base's handler that adds
// node=<name> to every record, name being empty until a node started
// with it as Config.Logger learns its ID. Components built before the
// node (its certificates, the reload of its files) log through it so
// that their lines carry the node's ID too.
func NamedLogger(base *slog.Logger, name string) *slog.Logger {
	l, _ := nodeLogger(base, name)
	return l
}

// nodeLogger returns a logger writing to base's handler that adds the
// node's name to every record, and the function that sets (or changes)
// the name. An empty name is set later. A base made by NamedLogger is
// reused, so that its name is set too.
func nodeLogger(base *slog.Logger, name string) (*slog.Logger, func(name string)) {
	if h, ok := base.Handler().(nodeNameHandler); ok {
		set := func(name string) { h.name.Store(&name) }
		if name != "" {
			set(name)
		}
		return base, set
	}
	h := nodeNameHandler{inner: base.Handler(), name: new(atomic.Pointer[string])}
	if name != "" {
		h.name.Store(&name)
	}
	return slog.New(h), func(name string) { h.name.Store(&name) }
}

func (h nodeNameHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h nodeNameHandler) Handle(ctx context.Context, r slog.Record) error {
	if name := h.name.Load(); name != nil {
		// The node goes first, before the record's own attributes (which
		// may name other nodes).
		out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		out.AddAttrs(slog.String("node", *name))
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "node" {
				if a.Value.String() == *name {
					return true
				}
				a.Key = "peer"
			}
			out.AddAttrs(a)
			return true
		})
		r = out
	}
	return h.inner.Handle(ctx, r)
}

func (h nodeNameHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return nodeNameHandler{inner: h.inner.WithAttrs(attrs), name: h.name}
}

// WithGroup puts the node attribute inside the group too; no component
// of the node logs in a group.
func (h nodeNameHandler) WithGroup(name string) slog.Handler {
	return nodeNameHandler{inner: h.inner.WithGroup(name), name: h.name}
}
