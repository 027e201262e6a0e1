package etcdtarget_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chorusdb/chorus/bench/etcdtarget"
)

func TestConfigValidate(t *testing.T) {
	ok := []string{"127.0.0.1:2379"}
	for _, tc := range []struct {
		name string
		cfg  etcdtarget.Config
		want string // substring of the error; "" for valid
	}{
		{"default", etcdtarget.DefaultConfig(), ""},
		{"zero timeouts take defaults", etcdtarget.Config{Endpoints: ok}, ""},
		{"urls", etcdtarget.Config{Endpoints: []string{"http://127.0.0.1:23790", "https://etcd.example:2379"}}, ""},
		{"ipv6", etcdtarget.Config{Endpoints: []string{"[::1]:2379"}}, ""},
		{"no endpoints", etcdtarget.Config{}, "at least one"},
		{"empty endpoint", etcdtarget.Config{Endpoints: []string{""}}, `endpoint ""`},
		{"no port", etcdtarget.Config{Endpoints: []string{"127.0.0.1"}}, "host:port"},
		{"bad port", etcdtarget.Config{Endpoints: []string{"127.0.0.1:http"}}, "bad port"},
		{"port 0", etcdtarget.Config{Endpoints: []string{"127.0.0.1:0"}}, "bad port"},
		{"bad scheme", etcdtarget.Config{Endpoints: []string{"ftp://127.0.0.1:2379"}}, "want http"},
		{"url without host", etcdtarget.Config{Endpoints: []string{"http://"}}, "want http"},
		{"negative dial timeout", etcdtarget.Config{Endpoints: ok, DialTimeout: -time.Second}, "DialTimeout"},
		{"negative request timeout", etcdtarget.Config{Endpoints: ok, RequestTimeout: -1}, "RequestTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkValidate(t, tc.cfg.Validate(), tc.want) })
	}
}

func TestClusterConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  etcdtarget.ClusterConfig
		want string
	}{
		{"default", etcdtarget.DefaultClusterConfig(), ""},
		{"zero", etcdtarget.ClusterConfig{}, ""},
		{"one member", etcdtarget.ClusterConfig{Members: 1, BasePort: 65534}, ""},
		{"negative members", etcdtarget.ClusterConfig{Members: -1}, "Members"},
		{"negative port", etcdtarget.ClusterConfig{BasePort: -5}, "BasePort"},
		{"ports past 65535", etcdtarget.ClusterConfig{Members: 3, BasePort: 65531}, "BasePort"},
		{"negative start timeout", etcdtarget.ClusterConfig{StartTimeout: -time.Second}, "StartTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkValidate(t, tc.cfg.Validate(), tc.want) })
	}
}

func TestDefaultConfigMatchesDefaultCluster(t *testing.T) {
	got := strings.Join(etcdtarget.DefaultConfig().Endpoints, ",")
	want := "http://127.0.0.1:23790,http://127.0.0.1:23792,http://127.0.0.1:23794"
	if got != want {
		t.Errorf("DefaultConfig().Endpoints = %s, want %s", got, want)
	}
}

func checkValidate(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("Validate() = %v, want nil", err)
	case want != "" && err == nil:
		t.Errorf("Validate() = nil, want an error containing %q", want)
	case want != "" && !errors.Is(err, etcdtarget.ErrInvalidConfig):
		t.Errorf("Validate() = %v, does not wrap ErrInvalidConfig", err)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("Validate() = %v, want it to contain %q", err, want)
	}
}
