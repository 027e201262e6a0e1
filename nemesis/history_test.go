package nemesis

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestHistoryRoundTrip(t *testing.T) {
	const seed = 5
	h := simulate(seed, 500, correct)
	var buf bytes.Buffer
	if err := h.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadHistory(&buf)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("seed %d: the history changed through JSON lines", seed)
	}
	// A replayed history gives the same report.
	r1, _ := Check(h, DefaultConfig())
	r2, _ := Check(got, DefaultConfig())
	if !reflect.DeepEqual(r1, r2) {
		t.Fatalf("seed %d: reports differ after replay", seed)
	}
}

// TestCopyDecodesReplicaView checks that a Copy decodes the answer of GET
// /v1/replica/{key} as docs/api.md shows it.
func TestCopyDecodesReplicaView(t *testing.T) {
	line := `{"final":{"key":"k","copies":[{"node":"node1","partition":41,"replica":true,"found":true,"context":"AQ==","digest":"6c1f0e4d8a2b9c11",` +
		`"siblings":[{"dot":"node1:7","value":"djE=","timestamp_ns":1796212345678901234},{"dot":"node2:1","value":"","tombstone":true,"timestamp_ns":1}]}]}}`
	h, err := ReadHistory(strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	c := h.Final.Keys["k"][0]
	if !c.Replica || !c.Found || c.Partition != 41 || len(c.Siblings) != 2 || string(c.Siblings[0].Value) != "v1" ||
		c.Siblings[0].Dot != "node1:7" || !c.Siblings[1].Tombstone || c.Siblings[0].TimestampNanos != 1796212345678901234 {
		t.Fatalf("decoded %+v", c)
	}
}

func TestReadHistoryRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"op":{"seq":1,"kind":"get","key":"k","outcome":"ok"}}` + "\n" + `nonsense`, "line 2"},
		{`{}`, "exactly one"},
		{`{"meta":{},"op":{"seq":1,"kind":"get","key":"k","outcome":"ok"}}`, "exactly one"},
		{`{"op":{"seq":1,"kind":"cas","key":"k","outcome":"ok"}}`, "unknown kind"},
		{`{"op":{"seq":1,"kind":"get","key":"k","outcome":"maybe"}}`, "unknown outcome"},
		{`{"op":{"seq":1,"kind":"get","key":"k","outcome":"ok","invoke_ns":5,"complete_ns":4}}`, "out of order"},
		{`{"op":{"seq":1,"kind":"get","key":"","outcome":"ok"}}`, "empty key"},
		{`{"op":{"seq":1,"kind":"get","key":"k","outcome":"ok"}}` + "\n" + `{"op":{"seq":1,"kind":"get","key":"k","outcome":"ok"}}`, "twice"},
		{`{"fault":{"kind":"meteor","start_ns":1,"end_ns":2}}`, "unknown fault kind"},
		{`{"fault":{"kind":"kill","start_ns":3,"end_ns":2}}`, "out of order"},
		{`{"final":{"key":"k"}}` + "\n" + `{"final":{"key":"k"}}`, "twice"},
		{`{"converge":{"ns":-1}}`, "negative"},
	} {
		_, err := ReadHistory(strings.NewReader(tc.in))
		if !errors.Is(err, ErrBadHistory) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want ErrBadHistory saying %q", tc.in, err, tc.want)
		}
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	const seed = 9
	r, err := Check(simulate(seed, 1000, resurrect), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.EncodeJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"anomalies"`, `"sibling_counts"`, `"availability"`, `"longest_write_gap"`, `"converge"`, `"resurrected"`} {
		if !strings.Contains(buf.String(), field) {
			t.Errorf("seed %d: report JSON lacks %s", seed, field)
		}
	}
	got, err := DecodeReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) || !got.Failed() {
		t.Fatalf("seed %d: report changed through JSON", seed)
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FAIL", "resurrected", "FAULT", "COUNTER", "SIBLINGS"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("seed %d: text report lacks %q:\n%s", seed, want, text.String())
		}
	}
}

func FuzzReadHistory(f *testing.F) {
	var buf bytes.Buffer
	if err := simulate(2, 16, correct).Encode(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"op":{"seq":1,"kind":"get","key":"k","outcome":"ok"}}`))
	f.Add([]byte(`{"fault":{"kind":"kill","nodes":["a"],"start_ns":1,"end_ns":2}}`))
	f.Add([]byte(`{"final":{"key":"k","copies":[{"node":"a","found":true,"siblings":[{"dot":"a:1","value":"eyJpZCI6IngifQ=="}]}]}}`))
	f.Add([]byte("{}\n\n[]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadHistory(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadHistory) {
				t.Fatalf("error %v does not wrap ErrBadHistory", err)
			}
			return
		}
		// Whatever decodes must be checkable (or rejected for an
		// unknown workload) and encode again to the same history.
		if _, err := Check(h, DefaultConfig()); err != nil && !strings.Contains(err.Error(), "unknown workload") {
			t.Fatalf("check: %v", err)
		}
		var out bytes.Buffer
		if err := h.Encode(&out); err != nil {
			t.Fatal(err)
		}
		h2, err := ReadHistory(&out)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if len(h2.Ops) != len(h.Ops) || len(h2.Faults) != len(h.Faults) || len(h2.Final.Keys) != len(h.Final.Keys) {
			t.Fatalf("re-read changed the history")
		}
	})
}

func TestAgree(t *testing.T) {
	a := newCopy("n1", true, sib("n1:1", id("a")))
	b := newCopy("n2", true, sib("n1:1", id("a")))
	other := newCopy("n3", true, sib("n1:2", id("b")))
	fallback := newCopy("n4", false, sib("n1:2", id("b")))
	tomb := Copy{Node: "n5", Replica: true, Found: true, Digest: "t", Siblings: []CopySibling{{Dot: "n1:3", Tombstone: true}}}
	mixed := Copy{Node: "n5", Replica: true, Found: true, Digest: "m", Siblings: []CopySibling{{Dot: "n1:3", Tombstone: true}, {Dot: "n2:1", Value: []byte("v")}}}
	for _, tc := range []struct {
		name   string
		copies []Copy
		want   bool
	}{
		{"none", nil, true},
		{"equal primaries", []Copy{a, b}, true},
		{"a fallback differs", []Copy{a, b, fallback}, true},
		{"a primary differs", []Copy{a, b, other}, false},
		{"a primary holds nothing", []Copy{a, {Node: "n3", Replica: true}}, false},
		{"none marked: every copy counts", []Copy{{Node: "x"}, {Node: "y", Found: true, Digest: "1"}}, false},
		{"all not found", []Copy{{Node: "x", Replica: true}, {Node: "y", Replica: true}}, true},
		{"a tombstone and one collected", []Copy{tomb, {Node: "n2", Replica: true}}, true},
		{"a tombstone and a value", []Copy{tomb, a}, false},
		{"a tombstone beside a value, and nothing", []Copy{mixed, {Node: "n2", Replica: true}}, false},
	} {
		if got := Agree(tc.copies); got != tc.want {
			t.Errorf("%s: Agree = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestKeys(t *testing.T) {
	h := &History{Ops: []Op{{Key: "b"}, {Key: "a"}, {Key: "b"}}}
	if got := h.Keys(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("Keys() = %v", got)
	}
}

// TestEncoderConcurrent writes from many goroutines, as a runner's
// clients do, and reads every operation back whole.
func TestEncoderConcurrent(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	const clients, each = 8, 50
	done := make(chan struct{})
	for c := range clients {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				op := Op{Seq: int64(c*each + i), Process: c, Workload: WriteOnce, Kind: Put, Key: "k", Outcome: OK}
				if err := e.Op(op); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for range clients {
		<-done
	}
	h, err := ReadHistory(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Ops) != clients*each {
		t.Fatalf("read %d ops, want %d", len(h.Ops), clients*each)
	}
}
