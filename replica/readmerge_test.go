package replica

import (
	"slices"
	"testing"

	"github.com/chorusdb/chorus/vclock"
)

func TestReadMerge(t *testing.T) {
	v1 := vclock.NewSet("a", vclock.Value{Data: []byte("v1")})
	v2, err := v1.Update(v1.Context(), "a", vclock.Value{Data: []byte("v2")})
	if err != nil {
		t.Fatal(err)
	}
	concurrent := vclock.NewSet("b", vclock.Value{Data: []byte("c")})

	tests := []struct {
		name      string
		replies   map[string]vclock.Set
		order     []string
		wantData  []string
		wantStale []string
	}{
		{"all equal", map[string]vclock.Set{"a": v2, "b": v2}, []string{"a", "b"}, []string{"v2"}, nil},
		{"one behind", map[string]vclock.Set{"a": v2, "b": v1}, []string{"a", "b"}, []string{"v2"}, []string{"b"}},
		{"one missing", map[string]vclock.Set{"a": v1, "c": {}}, []string{"a", "c"}, []string{"v1"}, []string{"c"}},
		{"concurrent siblings", map[string]vclock.Set{"a": v2, "b": concurrent}, []string{"a", "b"}, []string{"v2", "c"}, []string{"a", "b"}},
		{"nothing anywhere", map[string]vclock.Set{"a": {}, "b": {}}, []string{"a", "b"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m ReadMerge
			for _, n := range tt.order {
				m.Add(n, tt.replies[n])
			}
			var data []string
			for _, v := range m.Result().Values() {
				data = append(data, string(v.Data))
			}
			if !slices.Equal(data, tt.wantData) {
				t.Fatalf("values = %q, want %q", data, tt.wantData)
			}
			if got := m.Stale(); !slices.Equal(got, tt.wantStale) {
				t.Fatalf("stale = %q, want %q", got, tt.wantStale)
			}
		})
	}
}
