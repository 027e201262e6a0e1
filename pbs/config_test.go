package pbs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	var emptyEmpirical *Empirical
	tests := []struct {
		name   string
		change func(*Config)
		want   string // substring of the error; "" means valid
	}{
		{"default", func(*Config) {}, ""},
		{"zero fields take defaults", func(c *Config) { c.Deltas, c.Trials, c.MaxK = nil, 0, 0 }, ""},
		{"gap", func(c *Config) { c.Gap = Exponential{Mean: ms} }, ""},
		{"custom distribution", func(c *Config) { c.Legs.S = pareto{min: ms, alpha: 2} }, ""},
		{"zero quorum", func(c *Config) { c.Quorum = Quorum{} }, "Quorum N=0 R=0 W=0: N must be at least 1"},
		{"R above N", func(c *Config) { c.Quorum.R = 4 }, "R must be in [1, N]"},
		{"W zero", func(c *Config) { c.Quorum.W = 0 }, "W must be in [1, N]"},
		{"missing W leg", func(c *Config) { c.Legs.W = nil }, "Legs.W is required"},
		{"missing A leg", func(c *Config) { c.Legs.A = nil }, "Legs.A is required"},
		{"missing R leg", func(c *Config) { c.Legs.R = nil }, "Legs.R is required"},
		{"missing S leg", func(c *Config) { c.Legs.S = nil }, "Legs.S is required"},
		{"negative constant", func(c *Config) { c.Legs.A = Constant(-ms) }, "Legs.A Constant(-1ms) is negative"},
		{"negative mean", func(c *Config) { c.Legs.R = Exponential{Mean: -ms} }, "Legs.R Exponential mean -1ms is negative"},
		{"nil empirical", func(c *Config) { c.Legs.W = emptyEmpirical }, "Legs.W Empirical has no samples"},
		{"zero empirical", func(c *Config) { c.Legs.W = &Empirical{} }, "Legs.W Empirical has no samples"},
		{"negative gap", func(c *Config) { c.Gap = Constant(-1) }, "Gap Constant(-1ns) is negative"},
		{"negative delta", func(c *Config) { c.Deltas = []time.Duration{0, -ms} }, "Deltas[1] is negative"},
		{"negative trials", func(c *Config) { c.Trials = -1 }, "Trials must be at least 1"},
		{"negative MaxK", func(c *Config) { c.MaxK = -2 }, "MaxK must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(&cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want ErrInvalid containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "pbs: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestConfigValidateReportsEveryField(t *testing.T) {
	err := Config{Deltas: []time.Duration{-1}, Trials: -1}.Validate()
	for _, want := range []string{"Quorum", "Legs.W", "Legs.A", "Legs.R", "Legs.S", "Deltas[0]", "Trials"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
}
