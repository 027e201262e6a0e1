package inject

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// HTTPAdmin is the Admin of nodes reached over their HTTP APIs.
type HTTPAdmin struct {
	// Client makes the requests (its Transport carries the cluster's TLS
	// configuration when the nodes serve HTTPS).
	Client *http.Client
	// URL returns node i's base URL, "https://127.0.0.2:8080".
	URL func(i int) string
	// Token, when set, is sent as a bearer token.
	Token string
}

var _ Admin = HTTPAdmin{}

// SetFaults posts f to node i's /v1/faults.
func (a HTTPAdmin) SetFaults(ctx context.Context, i int, f NodeFaults) error {
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return a.post(ctx, i, "/v1/faults", body)
}

// Leave posts to node i's /v1/cluster/leave.
func (a HTTPAdmin) Leave(ctx context.Context, i int) error {
	return a.post(ctx, i, "/v1/cluster/leave", nil)
}

func (a HTTPAdmin) post(ctx context.Context, i int, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL(i)+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("inject: node %d %s: %w", i, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	client := a.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("inject: node %d %s: %w", i, path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("inject: node %d %s: %s: %s", i, path, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
