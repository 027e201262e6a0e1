package chart

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
)

// ErrInvalid is wrapped by every error that reports bad input: mismatched
// lengths, NaN or infinite values, an empty series list, quantiles outside
// [0,1), an out-of-range size, an unknown format. Check it with errors.Is.
var ErrInvalid = errors.New("chart: invalid input")

// Format is an output image format.
type Format string

// The supported formats.
const (
	PNG Format = "png"
	SVG Format = "svg"
)

const (
	// DPI is the resolution of PNG output, in dots per inch. A plot of
	// Width x Height inches is round(Width*DPI) x round(Height*DPI) pixels.
	DPI = 150

	// DefaultWidth and DefaultHeight are the plot size, in inches, used
	// when Width or Height is zero.
	DefaultWidth  = 8.0
	DefaultHeight = 4.5

	// MinSize and MaxSize bound Width and Height, in inches. Below MinSize
	// the axes and labels do not fit; above MaxSize a PNG would need
	// hundreds of megabytes.
	MinSize = 1.0
	MaxSize = 30.0

	// MaxAbs is the largest magnitude accepted for a data value. Larger
	// finite values would overflow the axis arithmetic (max-min, padding).
	MaxAbs = 1e300
)

// FormatOf returns the Format named by the extension of path, ignoring
// case: ".png" or ".svg". Any other extension is an error wrapping
// ErrInvalid.
func FormatOf(path string) (Format, error) {
	ext := strings.ToLower(filepath.Ext(path))
	f := Format(strings.TrimPrefix(ext, "."))
	if err := f.validate(); err != nil {
		return "", fmt.Errorf("%w (path %q)", err, path)
	}
	return f, nil
}

// validate reports whether f is a supported format.
func (f Format) validate() error {
	switch f {
	case PNG, SVG:
		return nil
	}
	return invalidf("unknown format %q, want %q or %q", string(f), PNG, SVG)
}

// invalidf returns an error wrapping ErrInvalid with the given detail.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// checkValue rejects NaN, infinities and magnitudes above MaxAbs. what
// names the value in the error, e.g. `series 1 "etcd" y[3]`.
func checkValue(what string, v float64) error {
	switch {
	case math.IsNaN(v):
		return invalidf("%s is NaN", what)
	case math.IsInf(v, 0):
		return invalidf("%s is infinite", what)
	case math.Abs(v) > MaxAbs:
		return invalidf("%s = %g exceeds MaxAbs", what, v)
	}
	return nil
}

// checkValues applies checkValue to every element of vs.
func checkValues(what string, vs []float64) error {
	for i, v := range vs {
		if err := checkValue(fmt.Sprintf("%s[%d]", what, i), v); err != nil {
			return err
		}
	}
	return nil
}

// inches resolves a requested Width or Height: zero means def, anything
// else must lie in [MinSize, MaxSize].
func inches(what string, v, def float64) (float64, error) {
	if v == 0 {
		return def, nil
	}
	if math.IsNaN(v) || v < MinSize || v > MaxSize {
		return 0, invalidf("%s %g inches outside [%g, %g]", what, v, MinSize, MaxSize)
	}
	return v, nil
}

// size resolves Width and Height.
func size(w, h float64) (float64, float64, error) {
	w, err := inches("width", w, DefaultWidth)
	if err != nil {
		return 0, 0, err
	}
	h, err = inches("height", h, DefaultHeight)
	return w, h, err
}

// seriesName describes series i for error messages.
func seriesName(i int, name string) string {
	return fmt.Sprintf("series %d %q", i, name)
}
