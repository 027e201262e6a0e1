package nemesis

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// value is what every workload writes: a JSON object whose id names the
// write uniquely ("<workload>:<client>:<n>", n counting that client's
// writes), so that any value seen anywhere tells which write made it. A
// value with an id no write carried is a phantom; one id under two dots
// is a write applied twice.
type value struct {
	ID string `json:"id"`
	// Add is the element a set write adds ("<client>.<n>").
	Add string `json:"add,omitempty"`
	// Set is every element a set write holds: what it read plus Add.
	Set []string `json:"set,omitempty"`
	// Slots is a counter write's G-counter: client -> its increments.
	Slots map[int]int64 `json:"slots,omitempty"`
}

var errNoID = errors.New("value has no id")

func parseValue(b []byte) (value, error) {
	var v value
	if err := json.Unmarshal(b, &v); err != nil {
		return value{}, err
	}
	if v.ID == "" {
		return value{}, errNoID
	}
	return v, nil
}

func (v value) encode() []byte {
	if v.Set != nil {
		v.Set = slices.Clone(v.Set)
		slices.Sort(v.Set)
	}
	// A struct of strings, ints and a map with int keys always
	// marshals, so the error is always nil.
	b, _ := json.Marshal(v)
	return b
}

func valueID(workload string, client int, n int64) string {
	return fmt.Sprintf("%s:%d:%d", workload, client, n)
}

// mergeSlots merges G-counters by per-slot maxima, the join of the
// G-counter lattice: siblings share history, so summing them would count
// shared increments twice.
func mergeSlots(dst, src map[int]int64) {
	for c, n := range src {
		if n > dst[c] {
			dst[c] = n
		}
	}
}

func sumSlots(m map[int]int64) int64 {
	var t int64
	for _, c := range slices.Sorted(maps.Keys(m)) {
		t += m[c]
	}
	return t
}
