package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/chorusdb/chorus/certs"
	"github.com/chorusdb/chorus/client"
)

// connFlags say how a command reaches a cluster: TLS with the CA (and the
// user's client certificate) of --certs-dir, or plaintext with --insecure.
// Neither is a usage error, so that nobody talks plaintext to a cluster
// by accident. Every command that talks to a cluster registers them and
// connects through them, over gRPC (clientConfig) and HTTP (http).
type connFlags struct {
	certsDir string
	user     string
	token    string
	insecure bool

	loaded bool
	tls    *tls.Config // nil: plaintext
}

const errNoConnMode = "connecting needs --certs-dir DIR (TLS) or --insecure (plaintext)"

func (c *connFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.certsDir, "certs-dir", "", "certificates directory: TLS trusting its ca.crt, presenting client.USER.crt/.key when present")
	fs.StringVar(&c.user, "user", "root", "user whose client certificate (client.USER.crt) --certs-dir presents")
	fs.StringVar(&c.token, "token", "", "bearer token sent with every request (needs --certs-dir)")
	fs.BoolVar(&c.insecure, "insecure", false, "plaintext, to a cluster started with --insecure")
}

// tlsConfig checks the flags and returns the TLS configuration, nil for
// --insecure. It loads the files once per command.
func (c *connFlags) tlsConfig() (*tls.Config, error) {
	if c.loaded {
		return c.tls, nil
	}
	switch {
	case c.certsDir == "" && !c.insecure:
		return nil, usageError(errNoConnMode)
	case c.certsDir != "" && c.insecure:
		return nil, usageError("--certs-dir and --insecure exclude each other")
	case c.insecure && c.token != "":
		return nil, usageError("--token needs TLS (--certs-dir): with --insecure it would cross the network in the clear")
	case c.insecure:
		c.loaded = true
		return nil, nil
	}
	cfg, err := certs.LoadClient(c.certsDir, c.user)
	if err != nil {
		if errors.Is(err, certs.ErrInvalid) {
			return nil, usageError("--user: %v", err)
		}
		return nil, usageError("--certs-dir %s: %v", c.certsDir, err)
	}
	c.loaded, c.tls = true, cfg
	return cfg, nil
}

// clientConfig sets the Go client's TLS and token from the flags.
func (c *connFlags) clientConfig(cfg *client.Config) error {
	t, err := c.tlsConfig()
	if err != nil {
		return err
	}
	cfg.TLS, cfg.Token = t, c.token
	return nil
}

// http returns the client of the nodes' HTTP APIs: HTTPS with the same
// TLS configuration as gRPC, or plain HTTP with --insecure.
func (c *connFlags) http() (*httpAPI, error) {
	t, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	h := &httpAPI{scheme: "http", token: c.token, client: &http.Client{Timeout: 5 * time.Second}}
	if t != nil {
		h.scheme = "https"
		h.client.Transport = &http.Transport{TLSClientConfig: t.Clone(), ForceAttemptHTTP2: true}
	}
	return h, nil
}

// httpAPI calls the HTTP API of nodes.
type httpAPI struct {
	client *http.Client
	scheme string
	token  string
}

// do sends a request to path on the node at addr (host:port).
func (h *httpAPI) do(ctx context.Context, method, addr, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, h.scheme+"://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	return h.client.Do(req)
}

// getJSON reads path from the node at addr into v.
func (h *httpAPI) getJSON(ctx context.Context, addr, path string, v any) error {
	resp, err := h.do(ctx, http.MethodGet, addr, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", addr, errorBody(resp))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// post sends an admin request and returns the error the node answered; a
// 4xx answer is a usage error.
func (h *httpAPI) post(ctx context.Context, addr, path string) error {
	resp, err := h.do(ctx, http.MethodPost, addr, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	msg := errorBody(resp)
	if resp.StatusCode/100 == 4 {
		return usageError("%s", msg)
	}
	return errors.New(msg)
}

// errorBody is the error a node answered: the JSON "error" field, else the
// body, else the status.
func errorBody(resp *http.Response) string {
	var body struct {
		Error string `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if json.Unmarshal(b, &body) == nil && body.Error != "" {
		return body.Error
	}
	if len(b) > 0 {
		return string(b)
	}
	return resp.Status
}
