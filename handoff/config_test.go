package handoff

import (
	"errors"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	src := newFakeSource()
	valid := Config{Self: "a", Store: newFakeStore(), Source: src, Liveness: newFakeLiveness()}
	tests := []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"minimal", func(*Config) {}, true},
		{"all set", func(c *Config) {
			c.PageKeys, c.Concurrency, c.KeysPerSecond = 10, 1, 100
			c.StallAfter, c.PageTimeout, c.RetryAfter = time.Second, time.Second, time.Second
			c.Manual = true
		}, true},
		{"no self", func(c *Config) { c.Self = "" }, false},
		{"no store", func(c *Config) { c.Store = nil }, false},
		{"no source", func(c *Config) { c.Source = nil }, false},
		{"no liveness", func(c *Config) { c.Liveness = nil }, false},
		{"negative page keys", func(c *Config) { c.PageKeys = -1 }, false},
		{"negative concurrency", func(c *Config) { c.Concurrency = -1 }, false},
		{"negative keys per second", func(c *Config) { c.KeysPerSecond = -1 }, false},
		{"negative stall", func(c *Config) { c.StallAfter = -time.Millisecond }, false},
		{"negative page timeout", func(c *Config) { c.PageTimeout = -time.Millisecond }, false},
		{"negative retry", func(c *Config) { c.RetryAfter = -time.Millisecond }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.edit(&c)
			err := c.Validate()
			if tt.ok {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				m, err := New(c)
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if err := m.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadConfig) {
				t.Fatalf("Validate() = %v, want an error wrapping ErrBadConfig", err)
			}
			if _, err := New(c); !errors.Is(err, ErrBadConfig) {
				t.Errorf("New() error = %v, want ErrBadConfig", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.PageKeys != DefaultPageKeys || c.Concurrency != DefaultConcurrency || c.KeysPerSecond != DefaultKeysPerSecond ||
		c.StallAfter != DefaultStallAfter || c.PageTimeout != DefaultPageTimeout || c.RetryAfter != DefaultRetryAfter ||
		c.Logger == nil {
		t.Errorf("withDefaults() = %+v, want every default", c)
	}
}
