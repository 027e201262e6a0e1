package compose

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorusdb/chorus/nemesis/inject"
	"github.com/chorusdb/chorus/nemesis/netfault"
)

var (
	_ inject.Target = (*Cluster)(nil)
	_ inject.Net    = (*Net)(nil)
)

// fakeDocker is a Runner that plays Docker and docker-compose: it records
// every command line and keeps the containers' state.
type fakeDocker struct {
	t        *testing.T
	httpAddr string // what docker-compose port answers
	mu       sync.Mutex
	cmds     []string
	envs     [][]string
	running  map[string]bool // container ID -> running
	runs     map[string]int  // service -> containers made
	fail     func(cmd string) error
}

func newFakeDocker(t *testing.T, httpAddr string) *fakeDocker {
	return &fakeDocker{t: t, httpAddr: httpAddr, running: map[string]bool{}, runs: map[string]int{}}
}

// composeArgs strips docker-compose's global options.
func composeArgs(args []string) []string {
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-p", "-f", "--profile":
			i++
		default:
			return args[i:]
		}
	}
	return nil
}

func (d *fakeDocker) id(svc string) string { return fmt.Sprintf("id-%s-%d", svc, d.runs[svc]) }

func (d *fakeDocker) run(_ context.Context, env []string, name string, args ...string) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cmd := name + " " + strings.Join(args, " ")
	d.cmds = append(d.cmds, cmd)
	d.envs = append(d.envs, env)
	if d.fail != nil {
		if err := d.fail(cmd); err != nil {
			return nil, err
		}
	}
	if name == "docker-compose" {
		a := composeArgs(args)
		switch a[0] {
		case "up":
			for _, svc := range a[3:] {
				if d.runs[svc] == 0 {
					d.runs[svc] = 1
				}
				d.running[d.id(svc)] = true
			}
		case "ps":
			return []byte(d.id(a[2]) + "\n"), nil
		case "port":
			return []byte(d.httpAddr + "\n"), nil
		case "rm":
			delete(d.running, d.id(a[3]))
			d.runs[a[3]]++
		case "logs":
			return []byte("chorus-0 | ready\n"), nil
		}
		return nil, nil
	}
	switch {
	case args[0] == "inspect" && strings.Contains(args[2], "NetworkSettings"):
		svc := strings.TrimPrefix(args[3], "id-")
		svc = svc[:strings.LastIndex(svc, "-")] // id-<service>-<run>
		ip := "172.29.15.1" + svc[len(svc)-1:]
		return []byte(fmt.Sprintf(`{"chorus-nemesis_chorus":{"IPAddress":%q}}`, ip)), nil
	case args[0] == "inspect" && args[2] == "{{.State.Running}}":
		return []byte(fmt.Sprint(d.running[args[3]])), nil
	case args[0] == "inspect" && strings.Contains(args[2], "Config.Cmd"):
		return []byte(`["node","--name=chorus-5","--advertise=chorus-5"]|[{"Type":"bind","Name":"","Destination":"/certs"},` +
			`{"Type":"volume","Name":"chorus-nemesis_chorus-5-data","Destination":"/data"}]`), nil
	case args[0] == "kill":
		d.running[args[3]] = false
	case args[0] == "start":
		d.running[args[1]] = true
	}
	return nil, nil
}

// commands returns the recorded command lines that start with prefix.
func (d *fakeDocker) commands(prefix string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, c := range d.cmds {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// statusServer answers /v1/status with a ring of *size nodes.
func statusServer(t *testing.T, size *atomic.Int64) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/status" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"ring_size":%d,"handoff":{"waiting":0,"in_flight":0,"stalled":0}}`, size.Load())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// testConfig is a Config on d and srv, with a compose file in a
// temporary directory.
func testConfig(t *testing.T, d *fakeDocker, srv *httptest.Server) Config {
	file := filepath.Join(t.TempDir(), "docker-compose.yml")
	if err := os.WriteFile(file, []byte("services: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.File, cfg.Image, cfg.Run, cfg.Client, cfg.Poll = file, "chorus:test", d.run, srv.Client(), time.Millisecond
	cfg.Env = map[string]string{"CHORUS_FAULT_INJECTION": "true", "CHORUS_DEFAULT_W": "2"}
	cfg.LogFile = filepath.Join(t.TempDir(), "nodes.log")
	return cfg
}

func startTest(t *testing.T) (*Cluster, *fakeDocker, *atomic.Int64) {
	t.Helper()
	size := &atomic.Int64{}
	size.Store(5)
	srv := statusServer(t, size)
	d := newFakeDocker(t, srv.Listener.Addr().String())
	c, err := Start(context.Background(), testConfig(t, d, srv))
	if err != nil {
		t.Fatalf("Start: %v\ncommands:\n%s", err, strings.Join(d.cmds, "\n"))
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, d, size
}

func TestStartAndClose(t *testing.T) {
	c, d, _ := startTest(t)
	dir := c.dir
	ov := "-p chorus-nemesis -f " + c.cfg.File + " -f " + filepath.Join(dir, "docker-compose.override.yml") + " --profile scale "
	want := []string{
		"docker version --format {{.Server.Version}}",
		"docker-compose version --short",
		"docker image inspect --format {{.Id}} chorus:test",
		"docker ps -aq --filter label=com.docker.compose.project=chorus-nemesis",
		"docker-compose " + ov + "up -d --no-build chorus-0 chorus-1 chorus-2 chorus-3 chorus-4",
		"docker-compose " + ov + "ps -q chorus-0",
		"docker update --restart=no id-chorus-0-1",
		"docker inspect --format {{json .NetworkSettings.Networks}} id-chorus-0-1",
		"docker-compose " + ov + "port chorus-0 8080",
		"docker-compose " + ov + "ps -q chorus-1",
	}
	if got := d.cmds[:len(want)]; !slices.Equal(got, want) {
		t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i, cmd := range d.cmds {
		if strings.HasPrefix(cmd, "docker-compose -p") && !slices.Equal(d.envs[i], []string{"CHORUS_SUBNET_PREFIX=172.29.15", "CHORUS_IMAGE=chorus:test"}) {
			t.Errorf("%s: env %v", cmd, d.envs[i])
		}
	}
	if c.Len() != 5 || c.Host(3) != "172.29.15.13" || c.HTTPAddr(3) != d.httpAddr {
		t.Errorf("node 3: of %d nodes, host %s, http %s", c.Len(), c.Host(3), c.HTTPAddr(3))
	}

	// The override mounts each service's certificates and sets the flags.
	b, err := os.ReadFile(c.overridePath())
	if err != nil {
		t.Fatal(err)
	}
	var got override
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("override: %v\n%s", err, b)
	}
	for _, svc := range []string{"chorus-0", "chorus-4", "chorus-5"} {
		s := got.Services[svc]
		if s.Environment["CHORUS_FAULT_INJECTION"] != "true" || !slices.Equal(s.Volumes, []string{filepath.Join(dir, svc) + ":/certs:ro"}) {
			t.Errorf("override of %s: %+v", svc, s)
		}
		for _, f := range []string{"node.crt", "node.key", "ca.crt", "gossip.key"} {
			if _, err := os.Stat(filepath.Join(dir, svc, f)); err != nil {
				t.Errorf("%s: %v", svc, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, svc, "ca.key")); err == nil {
			t.Errorf("%s holds the CA's key", svc)
		}
	}
	crt := readCert(t, filepath.Join(dir, "chorus-2", "node.crt"))
	if !slices.Equal(crt.DNSNames, []string{"chorus-2", "localhost"}) || len(crt.IPAddresses) != 1 || crt.IPAddresses[0].String() != "127.0.0.1" {
		t.Errorf("chorus-2's certificate names %v %v", crt.DNSNames, crt.IPAddresses)
	}
	if c.ClientTLS() == nil || len(c.ClientTLS().Certificates) != 1 {
		t.Error("no client certificate")
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if downs := d.commands("docker-compose " + ov + "down"); !slices.Equal(downs, []string{"docker-compose " + ov + "down --volumes --remove-orphans --timeout 5"}) {
		t.Errorf("down: %q", downs)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s after Close: %v", dir, err)
	}
	if logs, err := os.ReadFile(c.cfg.LogFile); err != nil || !strings.Contains(string(logs), "ready") {
		t.Errorf("logs %q, %v", logs, err)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	crt, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return crt
}

func TestPreflight(t *testing.T) {
	size := &atomic.Int64{}
	srv := statusServer(t, size)
	for _, c := range []struct {
		name string
		fail string // the command that fails
		err  error
		want error
	}{
		{"no docker", "docker version", exec.ErrNotFound, ErrUnavailable},
		{"no daemon", "docker version", errors.New("cannot connect"), ErrUnavailable},
		{"no docker-compose", "docker-compose version", exec.ErrNotFound, ErrUnavailable},
		{"no image", "docker image inspect", errors.New("no such image"), ErrNoImage},
	} {
		d := newFakeDocker(t, srv.Listener.Addr().String())
		d.fail = func(cmd string) error {
			if strings.HasPrefix(cmd, c.fail) {
				return c.err
			}
			return nil
		}
		_, err := Start(context.Background(), testConfig(t, d, srv))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if ups := d.commands("docker-compose -p"); len(ups) > 0 {
			t.Errorf("%s: ran %q", c.name, ups)
		}
	}
	d := newFakeDocker(t, srv.Listener.Addr().String())
	busy := func(_ context.Context, env []string, name string, args ...string) ([]byte, error) {
		if name == "docker" && args[0] == "ps" {
			return []byte("abc\ndef\n"), nil
		}
		return d.run(context.Background(), env, name, args...)
	}
	cfg := testConfig(t, d, srv)
	cfg.Run = busy
	if _, err := Start(context.Background(), cfg); !errors.Is(err, ErrProjectInUse) || !strings.Contains(err.Error(), "down -v") {
		t.Errorf("a busy project: %v", err)
	}
	cfg.File = filepath.Join(t.TempDir(), "missing.yml")
	if _, err := Start(context.Background(), cfg); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a missing compose file: %v", err)
	}
}

// TestStartFails: a node that exits while the ring forms fails Start,
// which tears down what it made.
func TestStartFails(t *testing.T) {
	size := &atomic.Int64{}
	size.Store(4) // the ring never forms
	srv := statusServer(t, size)
	d := newFakeDocker(t, srv.Listener.Addr().String())
	d.fail = func(cmd string) error {
		if strings.HasPrefix(cmd, "docker inspect --format {{.State.Running}} id-chorus-3") {
			d.running["id-chorus-3-1"] = false
		}
		return nil
	}
	_, err := Start(context.Background(), testConfig(t, d, srv))
	if err == nil || !strings.Contains(err.Error(), "chorus-3 exited") {
		t.Fatalf("Start: %v, want chorus-3 exited", err)
	}
	if len(d.commands("docker logs --tail 10 id-chorus-3-1")) != 1 || len(d.commands("docker-compose -p chorus-nemesis")) == 0 ||
		!strings.Contains(d.cmds[len(d.cmds)-1], " down --volumes") {
		t.Errorf("commands:\n%s", strings.Join(d.cmds, "\n"))
	}
}

func TestFaults(t *testing.T) {
	c, d, _ := startTest(t)
	n := len(d.cmds)
	for _, step := range []func() error{
		func() error { return c.Kill(2) },
		func() error { return c.Restart(2) },
		func() error { return c.Pause(4) },
		func() error { return c.Resume(4) },
		func() error { return c.Pause(1) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, cmd := range d.cmds[n:] {
		if !strings.Contains(cmd, "State.Running") {
			got = append(got, cmd)
		}
	}
	want := []string{"docker kill --signal KILL id-chorus-2-1", "docker start id-chorus-2-1", "docker pause id-chorus-4-1",
		"docker unpause id-chorus-4-1", "docker pause id-chorus-1-1"}
	if !slices.Equal(got, want) {
		t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !c.Running(2) || c.Running(7) {
		t.Error("Running: node 2 restarted is not running, or node 7 (none) is")
	}
	if err := c.Kill(9); err == nil {
		t.Error("Kill of a node that does not exist")
	}
	// Close continues the frozen node 1 before compose down.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if u := d.commands("docker unpause id-chorus-1-1"); len(u) != 1 {
		t.Errorf("Close unpaused %q", u)
	}
}

// TestAdd: the spare joins as itself; then, its ID retired by the leave,
// as a new node on the same address, its container and volume renewed.
func TestAdd(t *testing.T) {
	c, d, size := startTest(t)
	size.Store(6)
	i, err := c.Add()
	if err != nil {
		t.Fatal(err)
	}
	if name, svc := c.Name(i); i != 5 || name != "chorus-5" || svc != "chorus-5" || c.Host(i) != "172.29.15.15" {
		t.Fatalf("Add = %d, %s of %s on %s", i, name, svc, c.Host(i))
	}
	if !c.Ready(context.Background(), i, 6) {
		t.Error("the spare is not ready")
	}
	d.running["id-chorus-5-1"] = false // it left and exited
	n := len(d.cmds)
	j, err := c.Add()
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := c.Name(j); j != 6 || name != "chorus-5-2" || c.Host(j) != "172.29.15.15" || c.Host(5) != "192.0.2.5" {
		t.Fatalf("second Add = %d, %s on %s (the first on %s)", j, name, c.Host(j), c.Host(5))
	}
	ov := "docker-compose -p chorus-nemesis -f " + c.cfg.File + " -f " + c.overridePath() + " --profile scale "
	want := []string{ov + "rm --stop --force chorus-5", "docker volume rm chorus-nemesis_chorus-5-data",
		ov + "up -d --no-build chorus-5", ov + "ps -q chorus-5", "docker update --restart=no id-chorus-5-2"}
	if got := d.cmds[n : n+len(want)]; !slices.Equal(got, want) {
		t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	b, _ := os.ReadFile(c.overridePath())
	var got override
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	s := got.Services["chorus-5"]
	if !slices.Equal(s.Command, []string{"node", "--name=chorus-5-2", "--advertise=chorus-5"}) || len(s.Volumes) != 1 {
		t.Errorf("the spare's override: %+v", s)
	}
	if c.Running(5) || c.Ready(context.Background(), 5, 6) || c.Kill(5) == nil {
		t.Error("the replaced node 5 still counts")
	}
	if got := withName([]string{"node", "--name", "a", "--x"}, "b"); !slices.Equal(got, []string{"node", "--name", "b", "--x"}) {
		t.Errorf("withName = %q", got)
	}
}

func TestIsolated(t *testing.T) {
	all := []string{"10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14"}
	hosts := map[int]string{}
	for i, h := range all {
		hosts[i] = h
	}
	split := func(minority ...int) netfault.Cut {
		var a, b []string
		for i, h := range all {
			if slices.Contains(minority, i) {
				a = append(a, h)
			} else {
				b = append(b, h)
			}
		}
		c, err := netfault.Split(a, b)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	isolate, _ := netfault.Isolate(all[3], all)
	bridge, _ := netfault.Bridge(all)
	withGone, _ := netfault.Split([]string{all[0], all[1]}, append(slices.Clone(all[2:]), "10.0.0.15"))
	for _, c := range []struct {
		name string
		cut  netfault.Cut
		want []int
		err  error
	}{
		{"none", netfault.Cut{}, nil, nil},
		{"isolate", isolate, []int{3}, nil},
		{"majority", split(1, 4), []int{1, 4}, nil},
		{"majority, a gone node in the rest", withGone, []int{0, 1}, nil},
		{"bridge", bridge, nil, ErrUnsupported},
	} {
		got, err := isolated(c.cut, hosts)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.err)
			continue
		}
		var nodes []int
		for i := range got {
			nodes = append(nodes, i)
		}
		slices.Sort(nodes)
		if err == nil && !slices.Equal(nodes, c.want) {
			t.Errorf("%s: isolated %v, want %v", c.name, nodes, c.want)
		}
	}
}

func TestNet(t *testing.T) {
	c, d, _ := startTest(t)
	ctx := context.Background()
	hosts := make([]string, c.Len())
	for i := range hosts {
		hosts[i] = c.Host(i)
	}
	nw := c.Net()
	n := len(d.cmds)
	minority, _ := netfault.Split([]string{hosts[0], hosts[2]}, []string{hosts[1], hosts[3], hosts[4]})
	isolate, _ := netfault.Isolate(hosts[2], hosts)
	bridge, _ := netfault.Bridge(hosts)
	for _, cut := range []netfault.Cut{minority, isolate} {
		if err := nw.Apply(ctx, cut); err != nil {
			t.Fatal(err)
		}
	}
	if err := nw.Apply(ctx, bridge); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("a bridge: %v", err)
	}
	if got := nw.Disconnected(); !slices.Equal(got, []int{2}) {
		t.Errorf("after a refused bridge, disconnected %v, want the cut before it [2]", got)
	}
	if err := nw.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docker network disconnect chorus-nemesis_chorus id-chorus-0-1",
		"docker network disconnect chorus-nemesis_chorus id-chorus-2-1",
		"docker network connect --ip 172.29.15.10 --alias chorus-0 chorus-nemesis_chorus id-chorus-0-1",
		"docker network connect --ip 172.29.15.12 --alias chorus-2 chorus-nemesis_chorus id-chorus-2-1",
	}
	if got := d.cmds[n:]; !slices.Equal(got, want) {
		t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := nw.Disconnected(); len(got) != 0 {
		t.Errorf("after Heal, disconnected %v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, edit := range map[string]func(*Config){
		"project":     func(c *Config) { c.Project = "Chorus Test" },
		"subnet":      func(c *Config) { c.SubnetPrefix = "172.29" },
		"two nodes":   func(c *Config) { c.Services = c.Services[:2] },
		"spare twice": func(c *Config) { c.Spare = c.Services[0] },
		"env":         func(c *Config) { c.Env = map[string]string{"PATH": "/"} },
		"no file":     func(c *Config) { c.File = "" },
	} {
		c := DefaultConfig()
		edit(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
