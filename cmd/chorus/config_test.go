package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/chorusdb/chorus/server"
)

// writeConfig writes a config file into a test directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chorus.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// nodeConfigOf runs the command line args (with --insecure: no
// certificates here) through the real root (its environment and config
// file hooks) into a command with `chorus node`'s flags, and returns the server.Config those flags give, or the exit
// status and stderr of a usage error.
func nodeConfigOf(t *testing.T, vars map[string]string, args ...string) (server.Config, int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, lookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
	var cfg server.Config
	var f nodeFlags
	probe := &cobra.Command{Use: "probe", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error {
		var err error
		cfg, err = f.config(e)
		return err
	}}
	f.register(probe.Flags())
	root := newRootCmd(e)
	root.AddCommand(probe)
	root.SetArgs(append([]string{"probe", "--insecure"}, args...))
	_, err := root.ExecuteContextC(context.Background())
	if err == nil {
		return cfg, 0, ""
	}
	code := exitUsage
	if ee, ok := err.(*exitError); ok {
		code = ee.code
	}
	return cfg, code, err.Error()
}

func TestConfigFilePrecedence(t *testing.T) {
	path := writeConfig(t, `
# every key is a flag name
http-addr: 127.0.0.1:18080
grpc-addr: 127.0.0.1:19090
zone: from-file
join: [a.example:7946, "b.example:7946"]
join-timeout: 30s
default-n: 3
default-r: 1
in-memory: true
log-format: json
`)
	cfg, code, msg := nodeConfigOf(t, nil, "--config", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if cfg.HTTPAddr != "127.0.0.1:18080" || cfg.Zone != "from-file" || !cfg.InMemory || cfg.JoinTimeout != 30*time.Second {
		t.Errorf("file values not applied: http %q zone %q in-memory %v join-timeout %v", cfg.HTTPAddr, cfg.Zone, cfg.InMemory, cfg.JoinTimeout)
	}
	if !slices.Equal(cfg.Join, []string{"a.example:7946", "b.example:7946"}) {
		t.Errorf("join = %q, want the file's list", cfg.Join)
	}
	if d := cfg.Defaults; d.N != 3 || d.R != 1 || d.W != 2 {
		t.Errorf("default quorum %d/%d/%d, want 3/1/2 (w a majority of n)", d.N, d.R, d.W)
	}
	// The environment wins over the file, the command line over both.
	vars := map[string]string{"CHORUS_ZONE": "from-env", "CHORUS_HTTP_ADDR": "127.0.0.1:28080"}
	cfg, code, msg = nodeConfigOf(t, vars, "--config", path, "--http-addr", "127.0.0.1:38080", "--join", "c.example:7946")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if cfg.Zone != "from-env" || cfg.HTTPAddr != "127.0.0.1:38080" || cfg.GRPCAddr != "127.0.0.1:19090" {
		t.Errorf("zone %q http %q grpc %q; want the environment's zone, the flag's http and the file's grpc", cfg.Zone, cfg.HTTPAddr, cfg.GRPCAddr)
	}
	if !slices.Equal(cfg.Join, []string{"c.example:7946"}) {
		t.Errorf("join = %q, want the flag's list only", cfg.Join)
	}
	// The file itself may come from the environment.
	cfg, code, msg = nodeConfigOf(t, map[string]string{"CHORUS_CONFIG": path})
	if code != 0 || cfg.Zone != "from-file" {
		t.Errorf("CHORUS_CONFIG: exit %d (%s), zone %q; want the file applied", code, msg, cfg.Zone)
	}
	// A comma-separated string works for a list too; an empty file sets nothing.
	cfg, code, msg = nodeConfigOf(t, nil, "--in-memory", "--config", writeConfig(t, "join: a:1,b:2\n"))
	if code != 0 || !slices.Equal(cfg.Join, []string{"a:1", "b:2"}) {
		t.Errorf("join as a string: exit %d (%s), join %q", code, msg, cfg.Join)
	}
	if _, code, msg = nodeConfigOf(t, nil, "--in-memory", "--config", writeConfig(t, "# nothing\n")); code != 0 {
		t.Errorf("empty file: exit %d: %s", code, msg)
	}
}

func TestConfigFileErrors(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		want       []string
	}{
		{"unknown key", "htp-addr: 1.2.3.4:80\n", []string{`unknown key "htp-addr"`, `did you mean "http-addr"`}},
		{"unknown key, nothing close", "colour: blue\n", []string{`unknown key "colour"`}},
		{"bad int", "default-n: three\n", []string{"default-n:", "three"}},
		{"bad duration", "join-timeout: soon\n", []string{"join-timeout:", "soon"}},
		{"list for a scalar", "zone: [a, b]\n", []string{"zone:", "not a list"}},
		{"mapping value", "zone: {a: b}\n", []string{"zone:", "mapping"}},
		{"no value", "zone:\n", []string{"zone:", "no value"}},
		{"not a mapping", "- a\n- b\n", []string{"want a mapping"}},
		{"not yaml", "zone: [\n", []string{"--config"}},
		{"config names a config", "config: other.yaml\n", []string{`unknown key "config"`}},
		{"default-n above replicas", "default-n: 5\n", []string{"--default-n 5"}},
		{"default-r above default-n", "default-n: 1\ndefault-r: 2\n", []string{"--default-r 2"}},
		{"bad log format", "log-format: xml\n", []string{"--log-format"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file)
			_, code, msg := nodeConfigOf(t, nil, "--in-memory", "--config", path)
			if code != exitUsage {
				t.Fatalf("exit %d (%s), want %d", code, msg, exitUsage)
			}
			if !strings.HasPrefix(tt.name, "default-") && tt.name != "bad log format" {
				tt.want = append(tt.want, path) // errors of the file name the file
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
	_, code, msg := nodeConfigOf(t, nil, "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != exitUsage || !strings.Contains(msg, "missing.yaml") {
		t.Errorf("missing file: exit %d, %q; want a usage error naming it", code, msg)
	}
}

// TestNodeConfigFileThroughTheCLI: `chorus node --config` reports a bad
// file as a usage error before starting anything.
func TestNodeConfigFileThroughTheCLI(t *testing.T) {
	path := writeConfig(t, "in-memory: true\nhttp-adr: 127.0.0.1:0\n")
	r := runCLI(t, "", "node", "--config", path)
	if r.code != exitUsage || !strings.Contains(r.stderr, `did you mean "http-addr"`) || !strings.Contains(r.stderr, path) {
		t.Errorf("chorus node --config with a typo: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestDefaultQuorumFlags(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		n, r, w int
	}{
		{nil, 3, 2, 2},
		{[]string{"--replicas", "1"}, 1, 1, 1},
		{[]string{"--replicas", "2"}, 2, 2, 2},
		{[]string{"--replicas", "5"}, 3, 2, 2},
		{[]string{"--replicas", "5", "--default-n", "5"}, 5, 3, 3},
		{[]string{"--default-n", "3", "--default-r", "1", "--default-w", "3"}, 3, 1, 3},
		{[]string{"--default-n", "1"}, 1, 1, 1},
	} {
		cfg, code, msg := nodeConfigOf(t, nil, append([]string{"--in-memory"}, tt.args...)...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", tt.args, code, msg)
			continue
		}
		if d := cfg.Defaults; d.N != tt.n || d.R != tt.r || d.W != tt.w {
			t.Errorf("%v: default quorum %d/%d/%d, want %d/%d/%d", tt.args, d.N, d.R, d.W, tt.n, tt.r, tt.w)
		}
	}
	for _, args := range [][]string{
		{"--default-n", "4"}, {"--default-n", "-1"}, {"--default-r", "4"}, {"--default-w", "0", "--default-n", "2", "--default-r", "3"},
		{"--replicas", "1", "--default-w", "2"},
	} {
		if _, code, _ := nodeConfigOf(t, nil, append([]string{"--in-memory"}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "abc", 0}, {"htp-addr", "http-addr", 1}, {"kitten", "sitting", 3}, {"", "ab", 2}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzParseConfig: any file content parses to a mapping or an error,
// never a panic, and every value of a parsed mapping is one setFromConfig
// accepts or refuses with an error.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{"http-addr: 0.0.0.0:8080\n", "join: [a:1, b:2]\n", "default-n: 3\n",
		"a: {b: c}\n", "- x\n", "", "a: &x 1\nb: *x\n", "a: 1e400\n", "? [a]\n: b\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		values, err := parseConfig(raw)
		if err != nil {
			return
		}
		for _, v := range values {
			if list, ok := v.([]any); ok {
				for _, item := range list {
					_, _ = scalar(item)
				}
				continue
			}
			_, _ = scalar(v)
		}
	})
}
