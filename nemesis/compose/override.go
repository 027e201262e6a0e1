package compose

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/chorusdb/chorus/certs"
)

// override is the compose override file Start writes beside the
// certificates. It is JSON, which YAML (and so docker-compose) reads.
type override struct {
	Services map[string]overrideService `json:"services"`
}

type overrideService struct {
	// Environment merges with the compose file's: CHORUS_<FLAG> sets a
	// flag the command does not.
	Environment map[string]string `json:"environment,omitempty"`
	// Volumes merge by mount path: /certs replaces the compose file's
	// deploy/certs/<service>.
	Volumes []string `json:"volumes,omitempty"`
	// Command is set for a later run of the spare only: its new --name.
	Command []string `json:"command,omitempty"`
}

// services returns the node services and the spare.
func (c *Cluster) services() []string {
	all := append([]string(nil), c.cfg.Services...)
	if c.cfg.Spare != "" {
		all = append(all, c.cfg.Spare)
	}
	return all
}

// newOverride mounts each service's certificates and sets Config.Env.
func (c *Cluster) newOverride() override {
	ov := override{Services: map[string]overrideService{}}
	for _, svc := range c.services() {
		ov.Services[svc] = overrideService{Environment: c.cfg.Env, Volumes: []string{filepath.Join(c.dir, svc) + ":/certs:ro"}}
	}
	return ov
}

func (c *Cluster) overridePath() string { return filepath.Join(c.dir, "docker-compose.override.yml") }

func (c *Cluster) writeOverride() error {
	b, err := json.MarshalIndent(c.ov, "", "  ")
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if err := os.WriteFile(c.overridePath(), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	return nil
}

// issueCerts makes a CA, for each service a directory with its node
// certificate (its service name, which peers dial, and localhost and
// 127.0.0.1, where the clients reach the published ports), the CA
// certificate and the gossip key, readable by the image's user; and the
// clients' configuration, with the certificate of user root. The CA's
// key stays in dir/ca, which no container mounts.
func (c *Cluster) issueCerts() error {
	ca := filepath.Join(c.dir, "ca")
	opts := certs.CreateOptions{Dir: ca, Overwrite: true}
	if err := certs.CreateCA(opts); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	for _, svc := range c.services() {
		if err := certs.CreateNode(opts, svc, []string{svc, "localhost", "127.0.0.1"}); err != nil {
			return fmt.Errorf("compose: %w", err)
		}
		dst := filepath.Join(c.dir, svc)
		if err := os.Mkdir(dst, 0o755); err != nil {
			return fmt.Errorf("compose: %w", err)
		}
		for _, f := range []string{certs.NodeCertFile, certs.NodeKeyFile} {
			if err := os.Rename(filepath.Join(ca, f), filepath.Join(dst, f)); err != nil {
				return fmt.Errorf("compose: %w", err)
			}
		}
		for _, f := range []string{certs.CAFile, certs.GossipKeyFile} {
			b, err := os.ReadFile(filepath.Join(ca, f))
			if err == nil {
				err = os.WriteFile(filepath.Join(dst, f), b, 0o600)
			}
			if err != nil {
				return fmt.Errorf("compose: %w", err)
			}
		}
		if err := shareWithImage(dst); err != nil {
			return err
		}
	}
	if err := certs.CreateClient(opts, "root"); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	tc, err := certs.LoadClient(ca, "root")
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	c.tls = tc
	return nil
}

// shareWithImage lets the image's user read dir and its files: as root
// by giving them to it; otherwise (a user of the docker group) by making
// them readable to all, as scripts/compose-test.sh does. The directory is
// the run's own and is removed by Close.
func shareWithImage(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	paths := []string{dir}
	for _, e := range entries {
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	for _, p := range paths {
		if os.Geteuid() == 0 {
			err = os.Chown(p, imageUID, imageGID)
		} else if p == dir {
			err = os.Chmod(p, 0o755)
		} else {
			err = os.Chmod(p, 0o644)
		}
		if err != nil {
			return fmt.Errorf("compose: %w", err)
		}
	}
	return nil
}
