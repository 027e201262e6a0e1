package ring

import (
	"encoding/json"
	"testing"
)

// FuzzApplyChanges feeds ApplyChanges changes decoded from arbitrary JSON
// (they arrive in a plan request): it never panics, and a history it
// accepts builds a ring with at least one member.
func FuzzApplyChanges(f *testing.F) {
	for _, s := range []string{
		`[{"op":"leave","node":"b"}]`,
		`[{"op":"join","node":"d","zone":"z","weight":2}]`,
		`[{"op":"remove","node":"a"},{"op":"remove","node":"b"},{"op":"remove","node":"c"}]`,
		`[{"op":"join","node":""}]`,
		`[{"op":"join","node":"x","weight":-1}]`,
		`[{"op":"leave","node":"g"}]`,
		`[]`,
	} {
		f.Add(s)
	}
	hist := []Member{{ID: "a"}, {ID: "b"}, {ID: "c", Joined: 1}, {ID: "g", Joined: 1, Removed: 2}}
	cfg := Config{Partitions: 16, Replicas: 3}
	f.Fuzz(func(t *testing.T, s string) {
		var changes []Change
		if json.Unmarshal([]byte(s), &changes) != nil || len(changes) > 64 {
			return
		}
		after, err := ApplyChanges(hist, changes)
		if err != nil {
			return
		}
		r, err := New(after, cfg)
		if err != nil {
			return // a bad weight or zone is New's to refuse
		}
		if r.Size() == 0 {
			t.Fatalf("ApplyChanges(%s) accepted a history with no member", s)
		}
	})
}
