package server

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodePlanRequest: a plan request body from the network never
// panics the decoder, and one it accepts has a bounded number of changes.
func FuzzDecodePlanRequest(f *testing.F) {
	for _, s := range []string{
		`{"changes":[{"op":"leave","node":"n3"}],"sizes":{"n0":{"0":{"keys":3,"bytes":300}}}}`,
		`{"changes":[{"op":"join","node":"n9","zone":"z","weight":1.5}]}`,
		`{"changes":[],"sizes":{"n0":{"x":{}}}}`,
		`{"sizes":{"n0":{"4294967296":{"keys":1}}}}`,
		`[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodePlanRequest(b)
		if err != nil {
			return
		}
		if len(req.Changes) > maxPlanChanges {
			t.Fatalf("accepted %d changes, limit %d", len(req.Changes), maxPlanChanges)
		}
	})
}

// FuzzDecodeSavedPlan: the staged plan read back from disk never panics
// the decoder, and a plan encodes and decodes to itself.
func FuzzDecodeSavedPlan(f *testing.F) {
	good, _ := json.Marshal(Plan{RingVersion: 7, MadeBy: "n0"})
	for _, s := range [][]byte{good, []byte(`{"changes":[{"op":"leave","node":"n3"}],"ring_version":1,"moves":[{"partition":3,"to":"n1","keys":2}]}`), []byte(`{"ring_version":-1}`), {}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		plan, err := decodeSavedPlan(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(plan)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := decodeSavedPlan(again)
		if err != nil || !reflect.DeepEqual(back.Changes, plan.Changes) || back.RingVersion != plan.RingVersion || back.Total != plan.Total {
			t.Fatalf("plan %+v does not survive a round trip: %+v, %v", plan, back, err)
		}
	})
}
