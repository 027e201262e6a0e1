package compose

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"
)

// Config configures Start. Start from DefaultConfig.
type Config struct {
	// File is the compose file. Default deploy/docker-compose.yml (from
	// the working directory, as the CI and the scripts run).
	File string
	// Project is the compose project (docker-compose -p): its containers,
	// network and volumes are named after it. Default chorus-nemesis,
	// apart from scripts/compose-test.sh's chorus-test.
	Project string
	// SubnetPrefix is the network's /24, passed as CHORUS_SUBNET_PREFIX.
	// Default 172.29.15 (compose-test.sh uses 172.29.14).
	SubnetPrefix string
	// Image is the nodes' image, passed as CHORUS_IMAGE. Default
	// $CHORUS_IMAGE, or chorus:dev as in the compose file; built by
	// scripts/docker-build.sh.
	Image string
	// Services are the node services, node i being Services[i]. Default
	// chorus-0 to chorus-4, the compose file's five.
	Services []string
	// Spare is the service Add starts, in the profile SpareProfile.
	// Default chorus-5 in "scale"; empty: Add fails.
	Spare, SpareProfile string
	// Env are flags added to every node's command, as the CHORUS_<FLAG>
	// variables that chorus node reads for flags its command line does
	// not set ("CHORUS_FAULT_INJECTION": "true").
	Env map[string]string
	// HTTPPort is the nodes' HTTP port inside the containers, which the
	// compose file publishes on 127.0.0.1. Default 8080.
	HTTPPort int
	// ReadyTimeout bounds the wait for the ring to form. Default 2 min.
	ReadyTimeout time.Duration
	// StopTimeout is docker-compose down's --timeout. Default 5 s: the
	// data is thrown away anyway.
	StopTimeout time.Duration
	// LogFile, when set, receives the nodes' logs (docker-compose logs)
	// when Close runs.
	LogFile string
	// Run runs docker and docker-compose. Default Exec.
	Run Runner
	// Client, when set, makes the readiness checks (tests serve them);
	// default an HTTPS client with the cluster's client certificate.
	Client *http.Client
	// Poll is how often waits look again. Default 250 ms.
	Poll time.Duration
	// Log receives progress lines. Default io.Discard.
	Log io.Writer
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	image := os.Getenv("CHORUS_IMAGE")
	if image == "" {
		image = "chorus:dev"
	}
	return Config{File: "deploy/docker-compose.yml", Project: "chorus-nemesis", SubnetPrefix: "172.29.15", Image: image,
		Services: []string{"chorus-0", "chorus-1", "chorus-2", "chorus-3", "chorus-4"}, Spare: "chorus-5", SpareProfile: "scale",
		HTTPPort: 8080, ReadyTimeout: 2 * time.Minute, StopTimeout: 5 * time.Second, Poll: 250 * time.Millisecond, Log: io.Discard}
}

// projectPattern is what docker-compose keeps of a project name as is
// (it lowercases and drops other characters, and the network and volume
// names would no longer be the project's).
var projectPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// envPattern is a CHORUS_<FLAG> variable.
var envPattern = regexp.MustCompile(`^CHORUS_[A-Z0-9_]+$`)

// Validate reports what Start cannot use.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.File == "" {
		bad("File: required")
	}
	if !projectPattern.MatchString(c.Project) {
		bad("Project %q: want lower case letters, digits, '-' and '_'", c.Project)
	}
	if ip := net.ParseIP(c.SubnetPrefix + ".0").To4(); ip == nil || strings.Count(c.SubnetPrefix, ".") != 2 {
		bad("SubnetPrefix %q: want the first three numbers of an IPv4 /24 (172.29.15)", c.SubnetPrefix)
	}
	if c.Image == "" {
		bad("Image: required")
	}
	if len(c.Services) < 3 {
		bad("%d services: want at least 3", len(c.Services))
	}
	seen := map[string]bool{}
	for _, s := range append(c.Services[:len(c.Services):len(c.Services)], c.Spare) {
		if s != "" && seen[s] {
			bad("service %s named twice", s)
		}
		seen[s] = true
	}
	for k := range c.Env {
		if !envPattern.MatchString(k) {
			bad("Env %q: want CHORUS_<FLAG>", k)
		}
	}
	if c.HTTPPort < 1 || c.HTTPPort > 65535 {
		bad("HTTPPort %d: want 1-65535", c.HTTPPort)
	}
	if c.ReadyTimeout <= 0 || c.StopTimeout < 0 || c.Poll <= 0 {
		bad("ReadyTimeout %v and Poll %v must be positive, StopTimeout %v not negative", c.ReadyTimeout, c.Poll, c.StopTimeout)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	return nil
}
