package netfault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// Prefix starts the name of every chain a Firewall makes, so that
// RemoveStale finds those a dead run left behind.
const Prefix = "CHORUS-NEM-"

// ErrUnavailable is wrapped by Available's and Open's error when iptables
// cannot be used on this machine.
var ErrUnavailable = errors.New("netfault: iptables unavailable")

// Runner runs a command with stdin and returns its combined output.
type Runner func(ctx context.Context, stdin, name string, args ...string) ([]byte, error)

// Exec runs commands for real.
func Exec(ctx context.Context, stdin, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// Config configures a Firewall.
type Config struct {
	// Chain is the firewall's chain; it must start with Prefix and be at
	// most 28 characters (iptables' limit). Default Prefix followed by
	// the process ID.
	Chain string
	// Run executes iptables; default Exec.
	Run Runner
}

// Validate checks the chain's name.
func (c Config) Validate() error {
	if c.Chain == "" {
		return nil
	}
	if !strings.HasPrefix(c.Chain, Prefix) || len(c.Chain) > 28 || strings.ContainsAny(c.Chain, " \t\n") {
		return fmt.Errorf("netfault: chain %q: want %s followed by at most %d characters, no spaces", c.Chain, Prefix, 28-len(Prefix))
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Chain == "" {
		c.Chain = Prefix + strconv.Itoa(os.Getpid())
	}
	if c.Run == nil {
		c.Run = Exec
	}
	return c
}

// Available reports whether iptables can be used here: nil, or an error
// wrapping ErrUnavailable that says why (not installed, not root).
func Available(ctx context.Context) error {
	for _, bin := range []string{"iptables", "iptables-restore"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%w: %s is not installed (scripts/install-netfaults.sh installs it): %w", ErrUnavailable, bin, err)
		}
	}
	if _, err := Exec(ctx, "", "iptables", "-w", "-S", "OUTPUT"); err != nil {
		return fmt.Errorf("%w: cannot read the filter table (root is needed): %w", ErrUnavailable, err)
	}
	return nil
}

// Firewall applies cuts in a chain of its own. It is safe for concurrent
// use; Apply calls are applied one at a time, in order.
type Firewall struct {
	cfg    Config
	mu     sync.Mutex
	cut    Cut
	closed bool
}

// Open makes the chain (empty) and hooks it first in OUTPUT.
func Open(ctx context.Context, cfg Config) (*Firewall, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	f := &Firewall{cfg: cfg}
	if _, err := cfg.Run(ctx, "", "iptables", "-w", "-N", cfg.Chain); err != nil {
		return nil, fmt.Errorf("%w: make chain %s: %w", ErrUnavailable, cfg.Chain, err)
	}
	if _, err := cfg.Run(ctx, "", "iptables", "-w", "-I", "OUTPUT", "1", "-j", cfg.Chain); err != nil {
		_, _ = cfg.Run(ctx, "", "iptables", "-w", "-X", cfg.Chain)
		return nil, fmt.Errorf("%w: hook chain %s into OUTPUT: %w", ErrUnavailable, cfg.Chain, err)
	}
	return f, nil
}

// Chain returns the firewall's chain name.
func (f *Firewall) Chain() string { return f.cfg.Chain }

// Current returns the cut in force.
func (f *Firewall) Current() Cut {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cut
}

// Apply replaces the cut in force with c, atomically.
func (f *Firewall) Apply(ctx context.Context, c Cut) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("netfault: firewall closed")
	}
	script, err := restoreScript(f.cfg.Chain, c)
	if err != nil {
		return err
	}
	if _, err := f.cfg.Run(ctx, script, "iptables-restore", "-w", "--noflush"); err != nil {
		return fmt.Errorf("netfault: apply %s: %w", c, err)
	}
	f.cut = c
	return nil
}

// Heal drops every rule: all traffic flows again.
func (f *Firewall) Heal(ctx context.Context) error { return f.Apply(ctx, Cut{}) }

// Close heals, unhooks and deletes the chain. It is idempotent and runs
// every step even when one fails, returning their errors.
func (f *Firewall) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	return removeChain(context.Background(), f.cfg.Run, f.cfg.Chain)
}

// removeChain flushes chain, removes every jump to it from OUTPUT and
// deletes it.
func removeChain(ctx context.Context, run Runner, chain string) error {
	var errs []error
	if _, err := run(ctx, "", "iptables", "-w", "-F", chain); err != nil {
		errs = append(errs, err)
	}
	// A hook inserted twice (a bug, or a chain name reused) needs two
	// deletes; the loop ends when none is left.
	for range 16 {
		if _, err := run(ctx, "", "iptables", "-w", "-D", "OUTPUT", "-j", chain); err != nil {
			break
		}
	}
	if _, err := run(ctx, "", "iptables", "-w", "-X", chain); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("netfault: remove chain %s: %w", chain, errors.Join(errs...))
	}
	return nil
}

// RemoveStale deletes every chain named with Prefix (and its hook), those
// of runs that died without Close among them. Call it before Open, with
// no other run on the machine.
func RemoveStale(ctx context.Context, run Runner) ([]string, error) {
	if run == nil {
		run = Exec
	}
	out, err := run(ctx, "", "iptables", "-w", "-S")
	if err != nil {
		return nil, fmt.Errorf("%w: list rules: %w", ErrUnavailable, err)
	}
	var removed []string
	var errs []error
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 2 && fields[0] == "-N" && strings.HasPrefix(fields[1], Prefix) {
			if err := removeChain(ctx, run, fields[1]); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, fields[1])
		}
	}
	return removed, errors.Join(errs...)
}

// restoreScript is the iptables-restore input that replaces chain's rules
// with c's: declaring the chain flushes it, and the whole table commits
// at once.
func restoreScript(chain string, c Cut) (string, error) {
	var b strings.Builder
	b.WriteString("*filter\n:" + chain + " - [0:0]\n")
	for _, l := range c.Links() {
		for _, a := range []string{l.From, l.To} {
			ip, err := netip.ParseAddr(a)
			if err != nil || !ip.Unmap().Is4() {
				return "", fmt.Errorf("netfault: %q: only IPv4 addresses can be cut", a)
			}
		}
		fmt.Fprintf(&b, "-A %s -s %s/32 -d %s/32 -j DROP\n", chain, l.From, l.To)
	}
	b.WriteString("COMMIT\n")
	return b.String(), nil
}
