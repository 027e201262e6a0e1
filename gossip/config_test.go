package gossip

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: Validate() = %v, want nil (defaults fill in)", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"long ID", func(c *Config) { c.NodeID = strings.Repeat("x", MaxIDLen+1) }, "NodeID"},
		{"long zone", func(c *Config) { c.Zone = strings.Repeat("x", MaxZoneLen+1) }, "Zone"},
		{"long grpc", func(c *Config) { c.GRPCAddr = strings.Repeat("x", MaxAddrLen+1) }, "GRPCAddr"},
		{"long http", func(c *Config) { c.HTTPAddr = strings.Repeat("x", MaxAddrLen+1) }, "HTTPAddr"},
		{"NaN weight", func(c *Config) { c.Weight = math.NaN() }, "Weight"},
		{"negative weight", func(c *Config) { c.Weight = -1 }, "Weight"},
		{"initial removed", func(c *Config) { c.InitialStatus = StatusRemoved }, "InitialStatus"},
		{"bind port", func(c *Config) { c.BindPort = 70000 }, "BindPort"},
		{"advertise port", func(c *Config) { c.AdvertisePort = -1 }, "AdvertisePort"},
		{"negative timeout", func(c *Config) { c.LeaveTimeout = -1 }, "LeaveTimeout"},
		{"key size", func(c *Config) { c.SecretKey = make([]byte, 10) }, "SecretKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig naming %s", err, tt.field)
			}
			if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New() = %v, want ErrInvalidConfig", err)
			}
		})
	}
	for _, n := range []int{16, 24, 32} {
		c := DefaultConfig()
		c.SecretKey = make([]byte, n)
		if err := c.Validate(); err != nil {
			t.Errorf("%d-byte key: Validate() = %v", n, err)
		}
	}
}
