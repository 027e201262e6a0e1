package netfault

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// recorder is a Runner that records the commands and fails those its
// fail function names.
type recorder struct {
	cmds []string
	out  map[string]string
	fail func(cmd string) bool
}

func (r *recorder) run(_ context.Context, stdin, name string, args ...string) ([]byte, error) {
	cmd := name + " " + strings.Join(args, " ")
	if stdin != "" {
		cmd += " <<" + strings.ReplaceAll(strings.TrimSpace(stdin), "\n", "|")
	}
	r.cmds = append(r.cmds, cmd)
	if r.fail != nil && r.fail(cmd) {
		return nil, errors.New("failed")
	}
	return []byte(r.out[cmd]), nil
}

func TestFirewallCommands(t *testing.T) {
	ctx := context.Background()
	deletes := 0
	r := &recorder{fail: func(cmd string) bool {
		if strings.HasPrefix(cmd, "iptables -w -D OUTPUT") {
			deletes++
			return deletes > 1 // one hook to delete
		}
		return false
	}}
	f, err := Open(ctx, Config{Chain: "CHORUS-NEM-t", Run: r.run})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Isolate("127.0.0.2", []string{"127.0.0.2", "127.0.0.3"})
	if err := f.Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	if f.Current().Empty() {
		t.Error("Current is empty after Apply")
	}
	if err := f.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := f.Apply(ctx, c); err == nil {
		t.Error("Apply after Close succeeded")
	}
	want := []string{
		"iptables -w -N CHORUS-NEM-t",
		"iptables -w -I OUTPUT 1 -j CHORUS-NEM-t",
		"iptables-restore -w --noflush <<*filter|:CHORUS-NEM-t - [0:0]|-A CHORUS-NEM-t -s 127.0.0.2/32 -d 127.0.0.3/32 -j DROP|-A CHORUS-NEM-t -s 127.0.0.3/32 -d 127.0.0.2/32 -j DROP|COMMIT",
		"iptables-restore -w --noflush <<*filter|:CHORUS-NEM-t - [0:0]|COMMIT",
		"iptables -w -F CHORUS-NEM-t",
		"iptables -w -D OUTPUT -j CHORUS-NEM-t",
		"iptables -w -D OUTPUT -j CHORUS-NEM-t",
		"iptables -w -X CHORUS-NEM-t",
	}
	if strings.Join(r.cmds, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(r.cmds, "\n"), strings.Join(want, "\n"))
	}
}

func TestRemoveStale(t *testing.T) {
	r := &recorder{out: map[string]string{"iptables -w -S": "-P INPUT ACCEPT\n-N DOCKER\n-N CHORUS-NEM-41\n-A OUTPUT -j CHORUS-NEM-41\n-N CHORUS-NEM-42\n"},
		fail: func(cmd string) bool { return strings.HasPrefix(cmd, "iptables -w -D") }}
	removed, err := RemoveStale(context.Background(), r.run)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, ",") != "CHORUS-NEM-41,CHORUS-NEM-42" {
		t.Errorf("removed %v, want both CHORUS-NEM chains and nothing else", removed)
	}
	for _, cmd := range r.cmds {
		if strings.Contains(cmd, "DOCKER") {
			t.Errorf("touched another chain: %s", cmd)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, chain := range []string{"DOCKER", "CHORUS-NEM-" + strings.Repeat("x", 20), "CHORUS-NEM-a b"} {
		if err := (Config{Chain: chain}).Validate(); err == nil {
			t.Errorf("chain %q accepted", chain)
		}
	}
}

// TestFirewallCutsLoopbackTraffic uses the machine's iptables: a
// connection from 127.0.0.2 to a listener on 127.0.0.3 works, is dropped
// while 127.0.0.2 is isolated, and works again after Heal.
func TestFirewallCutsLoopbackTraffic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := Available(ctx); err != nil {
		t.Skipf("no iptables here: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.3: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dial := func() error {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 300 * time.Millisecond}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("before the cut: %v", err)
	}
	f, err := Open(ctx, Config{Chain: "CHORUS-NEM-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cut, _ := Isolate("127.0.0.2", []string{"127.0.0.2", "127.0.0.3"})
	if err := f.Apply(ctx, cut); err != nil {
		t.Fatal(err)
	}
	if err := dial(); err == nil {
		t.Fatal("connected across the cut")
	}
	if err := f.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dial(); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, _ := Exec(ctx, "", "iptables", "-w", "-S")
	if strings.Contains(string(out), "CHORUS-NEM-test") {
		t.Fatalf("the chain is still there after Close:\n%s", out)
	}
}
