package repair

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestAliveMarkRoundTrip(t *testing.T) {
	for _, at := range []time.Time{
		time.Unix(0, 0), time.Unix(1_700_000_000, 123), time.Unix(0, -1), time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		b := EncodeAliveMark(at)
		if len(b) != 9 || b[0] != 1 {
			t.Fatalf("EncodeAliveMark(%v) = %x, want version 1 and 8 time bytes", at, b)
		}
		got, err := DecodeAliveMark(b)
		if err != nil || !got.Equal(at) {
			t.Fatalf("DecodeAliveMark(EncodeAliveMark(%v)) = %v, %v", at, got, err)
		}
	}
}

// Marks written before the version byte (8 bytes of time) still decode.
func TestAliveMarkReadsUnversionedForm(t *testing.T) {
	at := time.Unix(1_700_000_000, 42)
	got, err := DecodeAliveMark(binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())))
	if err != nil || !got.Equal(at) {
		t.Fatalf("unversioned mark decodes to %v, %v; want %v", got, err, at)
	}
}

func TestAliveMarkRefusesOthers(t *testing.T) {
	v2 := EncodeAliveMark(time.Unix(1, 0))
	v2[0] = 2
	for name, b := range map[string][]byte{
		"empty": nil, "short": {1, 2, 3}, "version 0": make([]byte, 9), "version 2": v2, "long": make([]byte, 10),
	} {
		if _, err := DecodeAliveMark(b); !errors.Is(err, ErrBadAliveMark) {
			t.Errorf("%s: DecodeAliveMark(%x) = %v, want ErrBadAliveMark", name, b, err)
		}
	}
}

func TestCheckDowntime(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const grace = time.Hour
	for _, tt := range []struct {
		down time.Duration
		ok   bool
	}{{0, true}, {grace, true}, {grace + time.Nanosecond, false}, {-time.Minute, true}, {48 * time.Hour, false}} {
		err := CheckDowntime(now.Add(-tt.down), now, grace)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrDownTooLong)) {
			t.Errorf("down %v with grace %v: err = %v, want ok=%v", tt.down, grace, err, tt.ok)
		}
	}
}

func TestAliveMarkEvery(t *testing.T) {
	for grace, want := range map[time.Duration]time.Duration{
		time.Hour: time.Minute, 5 * time.Minute: 30 * time.Second, time.Millisecond: 10 * time.Millisecond,
	} {
		if got := AliveMarkEvery(grace); got != want {
			t.Errorf("AliveMarkEvery(%v) = %v, want %v", grace, got, want)
		}
		if AliveMarkEvery(grace) > max(grace, 10*time.Millisecond) {
			t.Errorf("AliveMarkEvery(%v) is longer than the grace period", grace)
		}
	}
}

// The decoder never panics, accepts only the two forms, and what it
// accepts in version 1 encodes back to the same bytes.
func FuzzDecodeAliveMark(f *testing.F) {
	f.Add(EncodeAliveMark(time.Unix(1_700_000_000, 5)))
	f.Add(binary.BigEndian.AppendUint64(nil, 7))
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		at, err := DecodeAliveMark(b)
		if err != nil {
			if !errors.Is(err, ErrBadAliveMark) {
				t.Fatalf("error %v does not wrap ErrBadAliveMark", err)
			}
			return
		}
		switch len(b) {
		case 9:
			if re := EncodeAliveMark(at); !bytes.Equal(re, b) {
				t.Fatalf("DecodeAliveMark(%x) = %v, which encodes to %x", b, at, re)
			}
		case 8:
			if re := EncodeAliveMark(at); !bytes.Equal(re[1:], b) {
				t.Fatalf("unversioned %x = %v, which encodes to %x", b, at, re)
			}
		default:
			t.Fatalf("DecodeAliveMark accepted %d bytes", len(b))
		}
	})
}
