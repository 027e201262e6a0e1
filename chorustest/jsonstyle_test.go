package chorustest

import (
	"strings"
	"testing"
	"time"
)

type goodJSON struct {
	Name    string           `json:"name"`
	TookMS  float64          `json:"took_ms"`
	Nested  []goodNested     `json:"nested,omitempty"`
	ByKey   map[string]int   `json:"by_key"`
	Skipped time.Duration    `json:"-"`
	Raw     []byte           `json:"raw"`
	When    time.Time        `json:"when"`
	Ptr     *goodNested      `json:"ptr"`
	private int              // not encoded
	Custom  customMarshalled `json:"custom"`
}

type goodNested struct {
	ID string `json:"id"`
}

type customMarshalled struct{ d time.Duration }

func (c customMarshalled) MarshalJSON() ([]byte, error) { return []byte(`{"d_ms":0}`), nil }

type badJSON struct {
	Untagged  int
	Camel     int           `json:"camelCase"`
	Took      time.Duration `json:"took"`
	NotNumber string        `json:"age_ms"`
	Custom    badCustom     `json:"custom"`
	AgeS      float64       `json:"age_seconds"`
}

type badCustom struct{}

func (badCustom) MarshalJSON() ([]byte, error) { return []byte(`{"BadKey":1}`), nil }

// styleRecorder collects errors instead of failing.
type styleRecorder struct {
	testing.TB
	problems []string
}

func (r *styleRecorder) Helper()           {}
func (r *styleRecorder) Error(args ...any) { r.problems = append(r.problems, args[0].(string)) }

func TestJSONStyle(t *testing.T) {
	var good styleRecorder
	JSONStyle(&good, goodJSON{}, []goodJSON{})
	if len(good.problems) != 0 {
		t.Errorf("good type: %q", good.problems)
	}
	var bad styleRecorder
	JSONStyle(&bad, badJSON{})
	all := strings.Join(bad.problems, "\n")
	for _, want := range []string{`Untagged: no json tag`, `"camelCase" is not snake_case`,
		`Took: time.Duration`, `"age_ms" ends in _ms but is not a number`, `"BadKey" is not snake_case`, `"age_seconds" has a time unit other than _ms`} {
		if !strings.Contains(all, want) {
			t.Errorf("bad type: errors %q lack %q", bad.problems, want)
		}
	}
}
