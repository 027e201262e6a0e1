package hints

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

func TestHintRoundTrip(t *testing.T) {
	set, err := vclock.NewSet("a", vclock.Value{Data: []byte("x")}).Update(vclock.Clock{}, "b", vclock.Value{Data: []byte("y")})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []Hint{
		{Target: "n2", Partition: 0, Key: []byte("k"), Created: t0},
		{Target: "n2", Partition: 1<<32 - 1, Key: []byte("key"), Set: set, Created: t0.Add(time.Nanosecond)},
	} {
		got, err := decodeHint("n2", h.encode())
		if err != nil {
			t.Fatalf("decode(encode(%v)): %v", h, err)
		}
		if got.Target != h.Target || got.Partition != h.Partition || !bytes.Equal(got.Key, h.Key) ||
			!got.Set.Equal(h.Set) || !got.Created.Equal(h.Created) {
			t.Fatalf("round trip = %+v, want %+v", got, h)
		}
	}
}

func TestDecodeHintErrors(t *testing.T) {
	good := hint("n2", "k", t0).encode()
	for name, b := range map[string][]byte{
		"empty":       nil,
		"version":     append([]byte{2}, good[1:]...),
		"truncated":   good[:3],
		"no key":      {encodingV1, 0, 0, 0},
		"key too big": {encodingV1, 0, 0, 9, 'k'},
		"bad set":     append(append([]byte(nil), good...), 0xff),
		"partition":   {encodingV1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 1, 'k'},
	} {
		if _, err := decodeHint("n2", b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: decodeHint = %v, want ErrMalformed", name, err)
		}
	}
}

func TestHintIDOrder(t *testing.T) {
	a, b, c := hintID(t0, 9), hintID(t0, 10), hintID(t0.Add(time.Nanosecond), 1)
	if bytes.Compare(a, b) >= 0 || bytes.Compare(b, c) >= 0 {
		t.Fatalf("IDs not in (time, seq) order: %x %x %x", a, b, c)
	}
	if got := idSeq(b); got != 10 {
		t.Fatalf("idSeq = %d, want 10", got)
	}
}

func FuzzDecodeHint(f *testing.F) {
	f.Add(hint("n2", "k", t0).encode())
	f.Add([]byte{encodingV1, 0, 0, 1, 'k', 1, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHint("n", b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again, err := decodeHint("n", h.encode())
		if err != nil {
			t.Fatalf("re-decoding an encoded hint: %v", err)
		}
		if again.Partition != h.Partition || !bytes.Equal(again.Key, h.Key) ||
			!again.Set.Equal(h.Set) || !again.Created.Equal(h.Created) {
			t.Fatalf("re-decoded %+v, want %+v", again, h)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	d := DefaultConfig()
	if d.MaxAge != 3*time.Hour || d.MaxBytes != 256<<20 || d.RetryInterval != time.Second ||
		d.BatchSize != 128 || d.MaxBackoff != 4*time.Second || d.Clock == nil || d.Logger == nil {
		t.Fatalf("DefaultConfig() = %+v", d)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("Config{}.Validate() = %v", err)
	}
	if c := (Config{RetryInterval: time.Minute}); c.Validate() != nil || c.withDefaults().MaxBackoff != time.Minute {
		t.Fatalf("RetryInterval above the default MaxBackoff: %v, MaxBackoff %v", c.Validate(), c.withDefaults().MaxBackoff)
	}
	for name, c := range map[string]Config{
		"MaxAge":     {MaxAge: -1},
		"MaxBytes":   {MaxBytes: -1},
		"BatchSize":  {BatchSize: -1},
		"MaxBackoff": {RetryInterval: time.Minute, MaxBackoff: time.Second},
		"Timeout":    {DeliverTimeout: -1},
		"Retry":      {RetryInterval: -1},
	} {
		if err := c.Validate(); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: Validate() = %v, want ErrBadConfig", name, err)
		}
	}
}
