package repair

import (
	"encoding/json"
	"time"
)

// The JSON forms below write durations as milliseconds in keys ending in
// _ms, the JSON style of the HTTP API (docs/api.md).

// MarshalJSON writes s with its durations in milliseconds.
func (s Stats) MarshalJSON() ([]byte, error) {
	type plain Stats // without this method
	return json.Marshal(struct {
		plain
		BackoffMS   float64 `json:"backoff_ms"`
		PacedMS     float64 `json:"paced_ms"`
		LastRoundMS float64 `json:"last_round_ms"`
	}{plain(s), millis(s.BackoffTime), millis(s.PacedTime), millis(s.LastRoundTook)})
}

// MarshalJSON writes r with Took in milliseconds.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result // without this method
	return json.Marshal(struct {
		plain
		TookMS float64 `json:"took_ms"`
	}{plain(r), millis(r.Took)})
}

// millis is d in (fractional) milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
