package chart

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// FuzzLines feeds arbitrary float64 values, NaN and infinities included,
// to Lines.Write. It must never panic, must reject non-finite values with
// ErrInvalid, and must accept finite values within MaxAbs.
//
// The first byte picks options (log axes, fixed y bounds, format, how the
// values split into two series); the rest is read as little-endian
// float64s: YMin, YMax, then alternating x and y.
func FuzzLines(f *testing.F) {
	f.Add(floats(0, 0, 0, 1, 2, 3, 4))
	f.Add(floats(0xff, 1, 10, -1, 0, 5, 5, 1e-300, 1e300))
	f.Add(floats(0x03, 0, 0, math.NaN(), 1, 2, math.Inf(1)))
	f.Add(floats(0x0c, 5, 5, 1, 1, 1, 1))
	f.Add(floats(0x01, 0, 0, 5e-324, -5e-324, math.MaxFloat64, 1))
	f.Add(floats(0x13, -1, 1, 1, 1+1e-15, 1e9, 1e9+1e-6))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		l, finite := linesFrom(data)
		format := PNG
		if len(data) > 0 && data[0]&0x20 != 0 {
			format = SVG
		}
		err := l.Write(&bytes.Buffer{}, format)
		if !finite && !errors.Is(err, ErrInvalid) {
			t.Fatalf("non-finite input: error = %v, want ErrInvalid", err)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("unexpected error: %v", err)
		}
	})
}

// floats encodes an options byte and float64 values for FuzzLines.
func floats(opts byte, vs ...float64) []byte {
	b := []byte{opts}
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// linesFrom decodes fuzz data into a small Lines (at most 2 x 1.5 inches,
// to keep each run fast) and reports whether every value was plottable.
func linesFrom(data []byte) (l Lines, plottable bool) {
	l = Lines{Width: 2, Height: 1.5, Title: "fuzz"}
	var opts byte
	if len(data) > 0 {
		opts, data = data[0], data[1:]
	}
	var vs []float64
	for ; len(data) >= 8; data = data[8:] {
		vs = append(vs, math.Float64frombits(binary.LittleEndian.Uint64(data)))
	}
	l.LogX, l.LogY = opts&1 != 0, opts&2 != 0
	plottable = true
	for i := 0; i < 2 && len(vs) > 0; i++ {
		v := vs[0]
		vs = vs[1:]
		if opts&(4<<i) != 0 {
			if i == 0 {
				l.YMin = &v
			} else {
				l.YMax = &v
			}
		}
	}
	split := int(opts>>6) % 3
	var s [2]Series
	for i := 0; i+1 < len(vs); i += 2 {
		k := 0
		if i/2 < split {
			k = 1
		}
		s[k].X = append(s[k].X, vs[i])
		s[k].Y = append(s[k].Y, vs[i+1])
		plottable = plottable && ok(vs[i]) && ok(vs[i+1])
	}
	l.Series = s[:]
	if l.YMin != nil || l.YMax != nil {
		plottable = plottable && (l.YMin == nil || ok(*l.YMin)) && (l.YMax == nil || ok(*l.YMax))
	}
	return l, plottable
}

// ok reports whether v is a finite value within MaxAbs.
func ok(v float64) bool { return !math.IsNaN(v) && math.Abs(v) <= MaxAbs }
