package compose

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chorusdb/chorus/clock"
)

var (
	// ErrUnavailable is wrapped by Start's error when Docker, its daemon,
	// docker-compose or the compose file cannot be used.
	ErrUnavailable = errors.New("compose: docker-compose cluster unavailable")
	// ErrNoImage is wrapped by Start's error when the nodes' image does
	// not exist.
	ErrNoImage = errors.New("compose: image not found (build it with scripts/docker-build.sh)")
	// ErrProjectInUse is wrapped by Start's error when the project has
	// containers already: another run's, or one that died without Close.
	ErrProjectInUse = errors.New("compose: the project has containers already")
	// ErrUnsupported is wrapped by Net.Apply's error for a cut that
	// disconnecting nodes from the network cannot make (a bridge).
	ErrUnsupported = errors.New("compose: cut not expressible by disconnecting nodes")
)

// The image's user (Dockerfile: USER 10001:10001), who must read the
// certificates mounted into the containers.
const imageUID, imageGID = 10001, 10001

// Cluster is the docker-compose cluster of one run: node i is the
// container of Config.Services[i], and nodes Add starts follow. Its
// methods are safe for concurrent use; the fault operations run one at a
// time.
type Cluster struct {
	cfg Config
	env []string // docker-compose's: the subnet and the image
	dir string   // certificates and the override file; removed by Close
	tls *tls.Config
	web *http.Client
	net *Net

	// op serialises the operations that change containers.
	op       sync.Mutex
	ov       override
	upCalled bool // docker-compose up ran: Close runs down
	spare    spare
	closed   bool

	mu      sync.Mutex
	nodes   []*node
	paused  map[int]bool
	network string // the Docker network, <project>_<name>
}

// node is one container.
type node struct {
	service string
	name    string // chorus node's --name
	id      string // container ID
	ip      string // on the cluster's network
	http    string // the published HTTP port, host:port
	gone    bool   // a spare's run that a later Add replaced: see Host
}

// spare is what Add remembers of the spare service's first run.
type spare struct {
	runs   int
	cmd    []string // its container's command
	volume string   // its data volume
}

// Start brings the cluster up (see the package documentation) and waits
// until every node serves the whole ring.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Run == nil {
		cfg.Run = Exec
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	c := &Cluster{cfg: cfg, paused: map[int]bool{},
		env: []string{"CHORUS_SUBNET_PREFIX=" + cfg.SubnetPrefix, "CHORUS_IMAGE=" + cfg.Image}}
	c.net = &Net{c: c, out: map[int]bool{}}
	if err := c.preflight(ctx); err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

// preflight checks, before anything is made, that Docker, docker-compose,
// the compose file and the image are there and the project is free.
func (c *Cluster) preflight(ctx context.Context) error {
	if _, err := c.cfg.Run(ctx, nil, "docker", "version", "--format", "{{.Server.Version}}"); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%w: docker is not installed: %w", ErrUnavailable, err)
		}
		return fmt.Errorf("%w: docker version fails (no daemon, or no permission to use it): %w", ErrUnavailable, err)
	}
	if _, err := c.cfg.Run(ctx, nil, "docker-compose", "version", "--short"); err != nil {
		return fmt.Errorf("%w: docker-compose: %w", ErrUnavailable, err)
	}
	if _, err := os.Stat(c.cfg.File); err != nil {
		return fmt.Errorf("%w: compose file: %w", ErrUnavailable, err)
	}
	if _, err := c.cfg.Run(ctx, nil, "docker", "image", "inspect", "--format", "{{.Id}}", c.cfg.Image); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoImage, c.cfg.Image, err)
	}
	out, err := c.cfg.Run(ctx, nil, "docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+c.cfg.Project)
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		return fmt.Errorf("%w: %d containers of project %s exist; remove them (docker-compose -p %s --profile %s down -v) or choose another project",
			ErrProjectInUse, len(ids), c.cfg.Project, c.cfg.Project, c.cfg.SpareProfile)
	}
	return nil
}

// start makes the certificates and the override file, brings the node
// services up and waits for the ring.
func (c *Cluster) start(ctx context.Context) error {
	c.op.Lock()
	defer c.op.Unlock()
	dir, err := os.MkdirTemp("", "chorus-compose-")
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if c.dir, err = filepath.Abs(dir); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if err := c.issueCerts(); err != nil {
		return err
	}
	c.web = c.cfg.Client
	if c.web == nil {
		c.web = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: c.tls}}
	}
	c.ov = c.newOverride()
	if err := c.writeOverride(); err != nil {
		return err
	}
	fmt.Fprintf(c.cfg.Log, "compose: starting %s of %s (project %s, image %s, network %s.0/24)\n",
		strings.Join(c.cfg.Services, ", "), c.cfg.File, c.cfg.Project, c.cfg.Image, c.cfg.SubnetPrefix)
	c.upCalled = true
	if _, err := c.compose(ctx, append([]string{"up", "-d", "--no-build"}, c.cfg.Services...)...); err != nil {
		return err
	}
	for _, svc := range c.cfg.Services {
		n, err := c.attach(ctx, svc, svc)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.nodes = append(c.nodes, n)
		c.mu.Unlock()
	}
	return c.waitReady(ctx)
}

// compose runs docker-compose on the project, its files and profile.
func (c *Cluster) compose(ctx context.Context, args ...string) ([]byte, error) {
	full := []string{"-p", c.cfg.Project, "-f", c.cfg.File, "-f", c.overridePath()}
	if c.cfg.SpareProfile != "" {
		full = append(full, "--profile", c.cfg.SpareProfile)
	}
	out, err := c.cfg.Run(ctx, c.env, "docker-compose", append(full, args...)...)
	if err != nil {
		return out, fmt.Errorf("compose: %w", err)
	}
	return out, nil
}

// docker runs a docker command.
func (c *Cluster) docker(ctx context.Context, args ...string) ([]byte, error) {
	out, err := c.cfg.Run(ctx, nil, "docker", args...)
	if err != nil {
		return out, fmt.Errorf("compose: %w", err)
	}
	return out, nil
}

// attach finds service's container, turns its restart policy off, and
// reads its address and published HTTP port.
func (c *Cluster) attach(ctx context.Context, service, name string) (*node, error) {
	out, err := c.compose(ctx, "ps", "-q", service)
	if err != nil {
		return nil, err
	}
	n := &node{service: service, name: name, id: strings.TrimSpace(string(out))}
	if n.id == "" || strings.ContainsAny(n.id, " \n") {
		return nil, fmt.Errorf("compose: service %s: want one container, docker-compose ps -q says %q", service, out)
	}
	// A killed node must stay down until the test restarts it; the
	// compose file's restart: on-failure would bring it back at once.
	if _, err := c.docker(ctx, "update", "--restart=no", n.id); err != nil {
		return nil, err
	}
	out, err = c.docker(ctx, "inspect", "--format", "{{json .NetworkSettings.Networks}}", n.id)
	if err != nil {
		return nil, err
	}
	var nets map[string]struct{ IPAddress string }
	if err := json.Unmarshal(out, &nets); err != nil || len(nets) != 1 {
		return nil, fmt.Errorf("compose: service %s: want one network, docker inspect says %s (%v)", service, bytesTrim(out), err)
	}
	for network, s := range nets {
		c.mu.Lock()
		known := c.network
		if known == "" {
			c.network = network
		}
		c.mu.Unlock()
		if known != "" && known != network {
			return nil, fmt.Errorf("compose: nodes on two networks, %s and %s", known, network)
		}
		n.ip = s.IPAddress
	}
	if net.ParseIP(n.ip).To4() == nil {
		return nil, fmt.Errorf("compose: service %s: address %q is not IPv4", service, n.ip)
	}
	out, err = c.compose(ctx, "port", service, strconv.Itoa(c.cfg.HTTPPort))
	if err != nil {
		return nil, err
	}
	if n.http = strings.TrimSpace(string(out)); n.http == "" || strings.HasSuffix(n.http, ":0") {
		return nil, fmt.Errorf("compose: service %s publishes no port for %d", service, c.cfg.HTTPPort)
	}
	return n, nil
}

// waitReady polls every node until each serves the whole ring, or one's
// container stops, or ReadyTimeout passes.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	members := len(c.cfg.Services)
	for {
		all := true
		for i := range members {
			if c.Ready(ctx, i, members) {
				continue
			}
			all = false
			if ctx.Err() == nil && !c.Running(i) {
				n := c.node(i)
				logs, _ := c.docker(context.WithoutCancel(ctx), "logs", "--tail", "10", n.id)
				return fmt.Errorf("compose: %s exited while the cluster started; its last lines: %s", n.service, bytesTrim(logs))
			}
		}
		if all {
			fmt.Fprintf(c.cfg.Log, "compose: %d nodes serve the ring\n", members)
			return nil
		}
		if err := clock.Sleep(ctx, clock.Real{}, c.cfg.Poll); err != nil {
			return fmt.Errorf("compose: the %d nodes did not form a ring within %v (docker-compose -p %s logs): %w",
				members, c.cfg.ReadyTimeout, c.cfg.Project, err)
		}
	}
}

// node returns node i, nil if there is none.
func (c *Cluster) node(i int) *node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.nodes) {
		return nil
	}
	n := *c.nodes[i]
	return &n
}

// live returns node i, or an error if it has been replaced.
func (c *Cluster) live(i int) (*node, error) {
	n := c.node(i)
	switch {
	case n == nil:
		return nil, fmt.Errorf("compose: no node %d", i)
	case n.gone:
		return nil, fmt.Errorf("compose: node %d (%s) was replaced by a later run of %s", i, n.name, n.service)
	}
	return n, nil
}

// Len returns how many nodes the cluster has had, replaced ones included.
func (c *Cluster) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}

// Host returns node i's address on the cluster's network. A spare's run
// that a later one replaced gives its address to the new one, and is
// 192.0.2.i then (TEST-NET-1: nobody's), so that a cut over every node's
// address names no address twice.
func (c *Cluster) Host(i int) string {
	n := c.node(i)
	switch {
	case n == nil:
		return ""
	case n.gone:
		return fmt.Sprintf("192.0.2.%d", i%256)
	}
	return n.ip
}

// HTTPAddr returns node i's HTTP API as published on the host.
func (c *Cluster) HTTPAddr(i int) string {
	if n := c.node(i); n != nil {
		return n.http
	}
	return ""
}

// Name returns node i's node name (its --name) and its service.
func (c *Cluster) Name(i int) (name, service string) {
	if n := c.node(i); n != nil {
		return n.name, n.service
	}
	return "", ""
}

// ClientTLS returns the clients' TLS configuration: the cluster's CA and
// the client certificate of user root.
func (c *Cluster) ClientTLS() *tls.Config { return c.tls.Clone() }

// Net returns the cluster's network control.
func (c *Cluster) Net() *Net { return c.net }

// Running reports whether node i's container runs (paused counts as
// running).
func (c *Cluster) Running(i int) bool {
	n, err := c.live(i)
	if err != nil {
		return false
	}
	out, err := c.docker(context.Background(), "inspect", "--format", "{{.State.Running}}", n.id)
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// Kill kills node i's container with SIGKILL and waits until it has
// stopped.
func (c *Cluster) Kill(i int) error {
	c.op.Lock()
	defer c.op.Unlock()
	n, err := c.live(i)
	if err != nil {
		return err
	}
	if _, err := c.docker(context.Background(), "kill", "--signal", "KILL", n.id); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.paused, i) // SIGKILL ends a frozen container too
	c.mu.Unlock()
	// docker kill returns once the signal is sent; the container is
	// marked stopped a moment later.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for c.Running(i) {
		if err := clock.Sleep(ctx, clock.Real{}, c.cfg.Poll/5); err != nil {
			return fmt.Errorf("compose: %s still runs %v after docker kill", n.service, 30*time.Second)
		}
	}
	return nil
}

// Restart starts node i's container again on its volume; the node
// rejoins on its own.
func (c *Cluster) Restart(i int) error {
	c.op.Lock()
	defer c.op.Unlock()
	n, err := c.live(i)
	if err != nil {
		return err
	}
	_, err = c.docker(context.Background(), "start", n.id)
	return err
}

// Pause freezes node i's container (docker pause): it holds its sockets
// and answers nothing until Resume.
func (c *Cluster) Pause(i int) error {
	c.op.Lock()
	defer c.op.Unlock()
	n, err := c.live(i)
	if err != nil {
		return err
	}
	if _, err := c.docker(context.Background(), "pause", n.id); err != nil {
		return err
	}
	c.mu.Lock()
	c.paused[i] = true
	c.mu.Unlock()
	return nil
}

// Resume thaws node i's container after Pause.
func (c *Cluster) Resume(i int) error {
	c.op.Lock()
	defer c.op.Unlock()
	n, err := c.live(i)
	if err != nil {
		return err
	}
	if _, err := c.docker(context.Background(), "unpause", n.id); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.paused, i)
	c.mu.Unlock()
	return nil
}

// Ready reports whether node i answers and sees a ring of size members
// with its partitions received.
func (c *Cluster) Ready(ctx context.Context, i, members int) bool {
	n, err := c.live(i)
	if err != nil {
		return false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+n.http+"/v1/status", nil)
	if err != nil {
		return false
	}
	resp, err := c.web.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st struct {
		RingSize int `json:"ring_size"`
		Handoff  struct {
			Waiting  int `json:"waiting"`
			InFlight int `json:"in_flight"`
			Stalled  int `json:"stalled"`
		} `json:"handoff"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return false
	}
	return st.RingSize == members && st.Handoff.Waiting+st.Handoff.InFlight+st.Handoff.Stalled == 0
}

// Add starts the spare service, which joins the others, and returns its
// node's index; Ready tells when it has joined. The first time the spare
// runs as the compose file says. A node that left the ring is retired
// for good (its ID can never rejoin), so each later time Add removes the
// spare's container and volume and starts it as node <spare>-<run>, on
// the same name and address: the peers' connections to that address
// find the new node (with a new address they would dial the old one
// until their resolvers looked again).
func (c *Cluster) Add() (int, error) {
	c.op.Lock()
	defer c.op.Unlock()
	if c.closed {
		return 0, errors.New("compose: cluster closed")
	}
	if c.cfg.Spare == "" {
		return 0, errors.New("compose: no spare service to add")
	}
	ctx := context.Background()
	name := c.cfg.Spare
	if c.spare.runs > 0 {
		var err error
		if name, err = c.replaceSpare(ctx); err != nil {
			return 0, err
		}
	}
	if _, err := c.compose(ctx, "up", "-d", "--no-build", c.cfg.Spare); err != nil {
		return 0, err
	}
	n, err := c.attach(ctx, c.cfg.Spare, name)
	if err != nil {
		return 0, err
	}
	if c.spare.runs == 0 {
		if err := c.rememberSpare(ctx, n); err != nil {
			return 0, err
		}
	}
	c.spare.runs++
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes = append(c.nodes, n)
	fmt.Fprintf(c.cfg.Log, "compose: %s started as node %s (%s)\n", n.service, n.name, n.ip)
	return len(c.nodes) - 1, nil
}

// rememberSpare records the spare's command, volume and address, which
// its later runs are made from.
func (c *Cluster) rememberSpare(ctx context.Context, n *node) error {
	out, err := c.docker(ctx, "inspect", "--format", "{{json .Config.Cmd}}|{{json .Mounts}}", n.id)
	if err != nil {
		return err
	}
	cmd, mounts, _ := strings.Cut(strings.TrimSpace(string(out)), "|")
	var ms []struct{ Type, Name, Destination string }
	if err := errors.Join(json.Unmarshal([]byte(cmd), &c.spare.cmd), json.Unmarshal([]byte(mounts), &ms)); err != nil {
		return fmt.Errorf("compose: inspect %s: %w", n.service, err)
	}
	for _, m := range ms {
		if m.Type == "volume" {
			c.spare.volume = m.Name
		}
	}
	return nil
}

// replaceSpare removes the spare's last container and volume and gives
// its next run a new node name in the override; it returns that name.
func (c *Cluster) replaceSpare(ctx context.Context) (string, error) {
	name := fmt.Sprintf("%s-%d", c.cfg.Spare, c.spare.runs+1)
	c.mu.Lock()
	for _, n := range c.nodes {
		if n.service == c.cfg.Spare {
			n.gone = true
		}
	}
	c.mu.Unlock()
	if _, err := c.compose(ctx, "rm", "--stop", "--force", c.cfg.Spare); err != nil {
		return "", err
	}
	if c.spare.volume != "" {
		if _, err := c.docker(ctx, "volume", "rm", c.spare.volume); err != nil {
			return "", err
		}
	}
	s := c.ov.Services[c.cfg.Spare]
	s.Command = withName(c.spare.cmd, name)
	c.ov.Services[c.cfg.Spare] = s
	return name, c.writeOverride()
}

// withName returns cmd with its --name set to name.
func withName(cmd []string, name string) []string {
	out := slices.Clone(cmd)
	for i, a := range out {
		switch {
		case strings.HasPrefix(a, "--name="):
			out[i] = "--name=" + name
			return out
		case a == "--name" && i+1 < len(out):
			out[i+1] = name
			return out
		}
	}
	return append(out, "--name="+name)
}

// Close saves the nodes' logs, tears the project down (containers,
// network, volumes) and removes the certificates. It is idempotent.
func (c *Cluster) Close() error {
	c.op.Lock()
	defer c.op.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var errs []error
	c.mu.Lock()
	var paused []string
	for i := range c.paused {
		paused = append(paused, c.nodes[i].id)
	}
	c.mu.Unlock()
	for _, id := range paused { // a frozen container cannot stop
		_, _ = c.docker(ctx, "unpause", id)
	}
	if c.upCalled {
		if c.cfg.LogFile != "" {
			logs, err := c.compose(ctx, "logs", "--no-color", "--timestamps")
			if err == nil {
				err = os.WriteFile(c.cfg.LogFile, logs, 0o644)
			}
			errs = append(errs, err)
		}
		_, err := c.compose(ctx, "down", "--volumes", "--remove-orphans", "--timeout", strconv.Itoa(int(c.cfg.StopTimeout.Seconds())))
		errs = append(errs, err)
		fmt.Fprintf(c.cfg.Log, "compose: project %s torn down\n", c.cfg.Project)
	}
	if c.web != nil {
		c.web.CloseIdleConnections()
	}
	if c.dir != "" {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	return errors.Join(errs...)
}

func bytesTrim(b []byte) string { return strings.TrimSpace(string(b)) }
