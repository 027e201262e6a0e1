package etcdtarget

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of Config and ClusterConfig, as DefaultConfig and
// DefaultClusterConfig return them.
const (
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 2 * time.Second

	DefaultMembers       = 3
	DefaultBasePort      = 23790
	DefaultInstallScript = "scripts/install-etcd.sh"
	DefaultStartTimeout  = 30 * time.Second
)

// ErrInvalidConfig is wrapped by the errors of Config.Validate and
// ClusterConfig.Validate.
var ErrInvalidConfig = errors.New("etcdtarget: invalid config")

// Config configures a Target. Fields documented with a default take it
// when zero.
type Config struct {
	// Endpoints are the client URLs ("http://127.0.0.1:23790") or
	// host:port pairs of the members to send requests to; at least one.
	// The client balances requests over all of them. DefaultConfig sets
	// the three members of a DefaultClusterConfig cluster.
	Endpoints []string
	// DialTimeout bounds New's check that an endpoint answers. Default 5 s.
	DialTimeout time.Duration
	// RequestTimeout bounds each Put, Get and Delete, unless the caller's
	// context ends earlier. Default 2 s.
	RequestTimeout time.Duration
	// Serializable makes Get read the local state of whichever member
	// answers (fast, possibly stale) instead of a linearizable read that
	// goes through the leader. Default false: linearizable.
	Serializable bool
}

// DefaultConfig returns the defaults documented on Config, with the
// endpoints of a local cluster started with DefaultClusterConfig (or
// scripts/etcd.sh start with its default base port).
func DefaultConfig() Config {
	return Config{
		Endpoints:      localEndpoints(DefaultBasePort, DefaultMembers),
		DialTimeout:    DefaultDialTimeout,
		RequestTimeout: DefaultRequestTimeout,
	}
}

// Validate reports a missing or malformed endpoint and negative timeouts.
// Errors wrap ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("Endpoints must name at least one member"))
	}
	for _, ep := range c.Endpoints {
		if err := checkEndpoint(ep); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, nonNegative("DialTimeout", c.DialTimeout), nonNegative("RequestTimeout", c.RequestTimeout))
	return invalid(errs)
}

func (c Config) withDefaults() Config {
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	return c
}

// checkEndpoint accepts what the etcd client accepts and we can use:
// http(s) URLs with a host and host:port pairs.
func checkEndpoint(ep string) error {
	if strings.Contains(ep, "://") {
		u, err := url.Parse(ep)
		if err != nil {
			return fmt.Errorf("endpoint %q: %w", ep, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("endpoint %q: want http://host:port or https://host:port", ep)
		}
		return nil
	}
	_, port, err := net.SplitHostPort(ep)
	if err != nil {
		return fmt.Errorf("endpoint %q: want a URL or host:port: %w", ep, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("endpoint %q: bad port %q", ep, port)
	}
	return nil
}

// ClusterConfig configures a local Cluster. Fields documented with a
// default take it when zero.
type ClusterConfig struct {
	// Members is the number of etcd processes. Default 3.
	Members int
	// BasePort places the members: member i listens for clients on
	// BasePort+2*i and for peers on BasePort+2*i+1, on 127.0.0.1.
	// Default 23790 (23790-23795 for 3 members): clear of etcd's usual
	// 2379/2380, of Chorus's ports (7946+, 8080+, 9090+, 17946+, 18080+,
	// 19090+) and of Linux's ephemeral range (32768+).
	BasePort int
	// Dir holds the members' data directories (Dir/etcd<i>). Empty means
	// a new temporary directory. Close removes Dir, given or not, unless
	// Keep is set.
	Dir string
	// Keep makes Close leave Dir in place.
	Keep bool
	// Binary is the etcd executable, a path or a name looked up on PATH.
	// Default "etcd" on PATH, then /usr/bin/etcd (where Debian installs it
	// and a restricted PATH may not look).
	Binary string
	// InstallScript, when etcd is not found and this names an existing
	// file, is run once with bash to install etcd (its output goes to
	// Log), and the binary is looked up again. Relative paths are relative
	// to the working directory. Default "scripts/install-etcd.sh", which
	// exists when running from the repository root.
	InstallScript string
	// NoInstall turns InstallScript off: a missing binary is ErrNoBinary
	// at once. Tests set it, so that go test never installs system
	// packages (installing is .ci/run's job).
	NoInstall bool
	// Log receives the members' stdout and stderr, each line prefixed with
	// the member's name, and a line per lifecycle event (start, healthy,
	// kill, restart, stop). Default io.Discard. Writes are serialised.
	Log io.Writer
	// MemberLog, when set, receives the members' stdout and stderr
	// instead of Log (which then gets the lifecycle lines only).
	MemberLog io.Writer
	// StartTimeout bounds StartCluster's (and Restart's) wait until the
	// members are healthy and agree on a leader. Default 30 s.
	StartTimeout time.Duration
}

// DefaultClusterConfig returns the defaults documented on ClusterConfig.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{
		Members:       DefaultMembers,
		BasePort:      DefaultBasePort,
		InstallScript: DefaultInstallScript,
		Log:           io.Discard,
		StartTimeout:  DefaultStartTimeout,
	}
}

// Validate reports a negative member count or timeout and ports outside
// 1-65535. Errors wrap ErrInvalidConfig.
func (c ClusterConfig) Validate() error {
	var errs []error
	if c.Members < 0 {
		errs = append(errs, fmt.Errorf("Members must not be negative, got %d", c.Members))
	}
	members := c.Members
	if members == 0 {
		members = DefaultMembers
	}
	base := c.BasePort
	if base == 0 {
		base = DefaultBasePort
	}
	if last := base + 2*members - 1; base < 1 || last > 65535 {
		errs = append(errs, fmt.Errorf("BasePort %d: the ports of %d members must lie in 1-65535", c.BasePort, members))
	}
	errs = append(errs, nonNegative("StartTimeout", c.StartTimeout))
	return invalid(errs)
}

func (c ClusterConfig) withDefaults() ClusterConfig {
	d := DefaultClusterConfig()
	if c.Members == 0 {
		c.Members = d.Members
	}
	if c.BasePort == 0 {
		c.BasePort = d.BasePort
	}
	if c.InstallScript == "" {
		c.InstallScript = d.InstallScript
	}
	if c.Log == nil {
		c.Log = d.Log
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = d.StartTimeout
	}
	return c
}

func nonNegative(name string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%s must not be negative, got %v", name, d)
	}
	return nil
}

// invalid joins errs (nil entries are dropped) under ErrInvalidConfig.
func invalid(errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return nil
}

// localEndpoints returns the client URLs of members on 127.0.0.1 from
// base (the layout of ClusterConfig.BasePort).
func localEndpoints(base, members int) []string {
	eps := make([]string, members)
	for i := range eps {
		eps[i] = clientURL(base + 2*i)
	}
	return eps
}

func clientURL(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }
