package handoff

import (
	"encoding/json"
	"time"
)

// The JSON forms below write durations as milliseconds in keys ending in
// _ms, the JSON style of the HTTP API (docs/api.md).

// MarshalJSON writes s with ETA in milliseconds.
func (s Status) MarshalJSON() ([]byte, error) {
	type plain Status // without this method
	return json.Marshal(struct {
		plain
		ETAMS float64 `json:"eta_ms"`
	}{plain(s), millis(s.ETA)})
}

// MarshalJSON writes t with ETA in milliseconds.
func (t TransferStatus) MarshalJSON() ([]byte, error) {
	type plain TransferStatus // without this method
	return json.Marshal(struct {
		plain
		ETAMS float64 `json:"eta_ms"`
	}{plain(t), millis(t.ETA)})
}

// millis is d in (fractional) milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
