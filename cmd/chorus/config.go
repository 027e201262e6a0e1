package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// configFlag names the flag that points at a config file. Commands that
// take one register it with addConfigFlag; the root's hook applies the
// file for any command that has the flag set (applyConfig).
const configFlag = "config"

// addConfigFlag registers --config on fs.
func addConfigFlag(fs *pflag.FlagSet) {
	fs.String(configFlag, "", "YAML file of flag values, keyed by flag name (http-addr: 0.0.0.0:8080); "+
		"a flag on the command line or in the environment wins over the file")
}

// applyConfig sets every flag of cmd that neither the command line nor the
// environment set from the YAML file --config names. It runs after
// applyEnv, which marks the flags it sets as changed, so the precedence is
// flag > environment > file > default. Keys are flag names; a value is a
// scalar, set through the flag's own parser as if typed on the command
// line, or for list flags (--join) a list or a comma-separated string.
// An unknown key, a bad value, or a file that is not a YAML mapping is a
// usage error naming the file and the key.
func applyConfig(cmd *cobra.Command) error {
	fs := cmd.Flags()
	cf := fs.Lookup(configFlag)
	if cf == nil || cf.Value.String() == "" {
		return nil
	}
	path := cf.Value.String()
	values, err := readConfig(path)
	if err != nil {
		return usageError("--config %s: %v", path, err)
	}
	for _, key := range sortedKeys(values) {
		f := fs.Lookup(key)
		if f == nil || key == configFlag || key == "help" {
			return usageError("--config %s: %s", path, unknownKey(fs, key))
		}
		if f.Changed {
			continue // the command line or the environment said otherwise
		}
		if err := setFromConfig(fs, f, values[key]); err != nil {
			return usageError("--config %s: %s: %v", path, key, err)
		}
	}
	return nil
}

// readConfig reads a YAML mapping of flag names to values.
func readConfig(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(raw)
}

// parseConfig decodes a YAML mapping of flag names to values. Numbers keep
// their text, so that 0.5 or 10 reach the flag as written.
func parseConfig(raw []byte) (map[string]any, error) {
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return map[string]any{}, nil // an empty file sets nothing
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var values map[string]any
	if err := dec.Decode(&values); err != nil {
		return nil, fmt.Errorf("want a mapping of flag names to values (http-addr: 0.0.0.0:8080)")
	}
	return values, nil
}

// setFromConfig sets flag f to v, a value decoded from the file.
func setFromConfig(fs *pflag.FlagSet, f *pflag.Flag, v any) error {
	if list, ok := v.([]any); ok {
		sv, ok := f.Value.(pflag.SliceValue)
		if !ok {
			return fmt.Errorf("want a single value, not a list")
		}
		items := make([]string, len(list))
		for i, item := range list {
			s, err := scalar(item)
			if err != nil {
				return fmt.Errorf("item %d: %w", i+1, err)
			}
			items[i] = s
		}
		if err := sv.Replace(items); err != nil {
			return err
		}
		f.Changed = true
		return nil
	}
	s, err := scalar(v)
	if err != nil {
		return err
	}
	return fs.Set(f.Name, s)
}

// scalar returns the text of a string, number or boolean value.
func scalar(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return fmt.Sprint(v), nil
	case nil:
		return "", fmt.Errorf("no value")
	}
	return "", fmt.Errorf("want a string, number or boolean, not a %s", kindOf(v))
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "mapping"
	case []any:
		return "list"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// unknownKey says that key names no flag, suggesting the closest one when
// it is a likely typo.
func unknownKey(fs *pflag.FlagSet, key string) string {
	msg := fmt.Sprintf("unknown key %q (keys are the command's flag names)", key)
	best, bestDist := "", len(key)/3+2 // more edits than that is no typo
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == configFlag || f.Name == "help" {
			return
		}
		if d := editDistance(strings.ToLower(key), f.Name); d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	if best != "" {
		msg += fmt.Sprintf("; did you mean %q?", best)
	}
	return msg
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
