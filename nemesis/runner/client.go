package runner

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/chorusdb/chorus/nemesis"
)

// client runs one workload client until ctx ends: each operation goes to
// the client's node (client p talks to node p mod Nodes, as a Jepsen
// client is bound to its node), is recorded, and its result feeds the
// next.
func (r *run) client(ctx context.Context, p int, c nemesis.Client) {
	node := p % r.cfg.Nodes
	var last *nemesis.Op
	for ctx.Err() == nil {
		req := c.Next(last)
		op := req.Op(p)
		op.Seq = r.seq.Add(1)
		op.Node = nodeName(node)
		op.Invoke = r.since()
		r.do(ctx, node, &op)
		op.Complete = r.since()
		if ctx.Err() != nil && op.Outcome != nemesis.OK && op.Kind != nemesis.Get {
			op.Outcome = nemesis.Info // cut short by the end of the run: it may have happened
		}
		if err := r.enc.Op(op); err != nil {
			r.logf("%v", err)
			return
		}
		r.mu.Lock()
		r.ops = append(r.ops, op)
		r.mu.Unlock()
		last = &op
		if op.Outcome != nemesis.OK {
			// A node that is down answers at once; do not spin on it.
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// getBody is the JSON answer of a read (server's siblingsBody).
type getBody struct {
	Context  string   `json:"context"`
	Siblings []string `json:"siblings"`
}

// do sends op to node and records its outcome, error, siblings and
// context.
func (r *run) do(ctx context.Context, node int, op *nemesis.Op) {
	method := map[nemesis.Kind]string{nemesis.Get: http.MethodGet, nemesis.Put: http.MethodPut, nemesis.Delete: http.MethodDelete}[op.Kind]
	var body io.Reader
	if op.Kind == nemesis.Put {
		body = bytes.NewReader(op.Value)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.nodeURL(node)+"/v1/kv/"+op.Key, body)
	if err != nil {
		op.Outcome, op.Error = nemesis.Fail, err.Error()
		return
	}
	if op.Context != "" {
		req.Header.Set("X-Chorus-Context", op.Context)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.web.Do(req)
	if err != nil {
		op.Outcome, op.Error = transportOutcome(op.Kind, err), err.Error()
		return
	}
	defer resp.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	op.RespContext = resp.Header.Get("X-Chorus-Context")
	op.Outcome = statusOutcome(op.Kind, resp.StatusCode, data)
	if op.Outcome != nemesis.OK {
		op.Error = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(data))
		return
	}
	if rerr != nil { // the answer was cut: the request was handled, the read is lost
		if op.Kind == nemesis.Get {
			op.Outcome = nemesis.Fail
		}
		op.Error = rerr.Error()
		return
	}
	if op.Kind == nemesis.Get && resp.StatusCode != http.StatusNotFound {
		var gb getBody
		if err := json.Unmarshal(data, &gb); err != nil {
			op.Outcome, op.Error = nemesis.Fail, "unreadable read answer: "+err.Error()
			return
		}
		if gb.Context != "" {
			op.RespContext = gb.Context
		}
		for _, s := range gb.Siblings {
			v, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				op.Outcome, op.Error = nemesis.Fail, "unreadable sibling: "+err.Error()
				return
			}
			op.Siblings = append(op.Siblings, nemesis.Sibling{Value: v})
		}
	}
}

// transportOutcome classifies a request that got no answer: a refused
// connection never reached a node; anything else (a timeout, a reset)
// may have, and a write is then indeterminate. A read changes nothing,
// so a read without an answer is simply failed.
func transportOutcome(kind nemesis.Kind, err error) nemesis.Outcome {
	if kind == nemesis.Get || errors.Is(err, syscall.ECONNREFUSED) {
		return nemesis.Fail
	}
	return nemesis.Info
}

// statusOutcome classifies an answer: 2xx and a read's 300 or 404 are
// acknowledgements; a 4xx, or a 503 from a node still starting, is a
// refusal before anything was done; any other error of a write may come
// after the coordinator stored it (a quorum not met, "may have been
// applied"), so it is indeterminate.
func statusOutcome(kind nemesis.Kind, code int, body []byte) nemesis.Outcome {
	switch {
	case code/100 == 2:
		return nemesis.OK
	case kind == nemesis.Get && (code == http.StatusMultipleChoices || code == http.StatusNotFound):
		return nemesis.OK
	case kind == nemesis.Get:
		return nemesis.Fail
	case code/100 == 4 && code != http.StatusRequestTimeout:
		return nemesis.Fail
	case code == http.StatusServiceUnavailable && strings.Contains(string(body), "node starting"):
		return nemesis.Fail
	}
	return nemesis.Info
}
