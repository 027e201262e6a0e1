// Package chart draws the plots of the benchmark harness and writes them
// as PNG or SVG. It takes plain data (float64 slices, durations, strings)
// and knows nothing else of Chorus; drawing is done with gonum.org/v1/plot.
//
// Four kinds of plot are provided:
//
//   - Lines: one polyline per Series, with optional log scales and a fixed
//     y range; for throughput or latency against time or concurrency.
//   - Spectrum: the HdrHistogram-style latency percentile spectrum. The x
//     axis is 1/(1-q) on a log scale, labelled "0%", "90%", "99%",
//     "99.9%", ..., so that the tail gets as much room as the median.
//   - Scatter: labelled points coloured by group, for trade-off plots such
//     as latency against stale-read probability per R/W quorum setting.
//   - Bars: grouped bars, one group per category and one bar per series.
//
// Each plot type has Write, which renders to an io.Writer in a given
// Format, and Save, which picks the Format from the file extension
// (".png" or ".svg", any case) and replaces the file atomically: the
// image is written to a temporary file in the same directory, synced, and
// renamed over the destination, so a reader never sees a partial image
// and a failed Save leaves any previous file untouched.
//
// # Guarantees
//
// Write and Save validate their input before drawing anything. Invalid
// input (mismatched lengths, NaN or infinite values, values whose
// magnitude exceeds MaxAbs, an empty series list, quantiles outside
// [0,1) or out of order, negative latencies, a size outside [MinSize,
// MaxSize] inches, an unknown format) yields an error that wraps
// ErrInvalid, and nothing is written. No input makes them panic: as a
// last line of defence a panic inside the plotting library is recovered
// and returned as an error. Errors from the io.Writer or the file system
// are returned wrapped, and do not wrap ErrInvalid.
//
// A series with zero points inside a non-empty list is valid and draws
// nothing (it still gets its legend entry). On a log axis, points whose
// coordinate is <= 0 are skipped rather than rejected. Degenerate ranges
// (a single value, all zeros) are widened so the axis is still usable.
//
// Write and Save do not modify their receiver, and values may be written
// from several goroutines at once.
//
// # Appearance
//
// Colours (plotutil.Color) and dash patterns (plotutil.Dashes) are chosen
// by series index; the palettes have 7 and 9 entries, so the first 63
// series have distinct combinations. Scatter groups get plotutil.Shape
// markers as well. Legends are drawn to the right of the data area so
// they never hide data. Text is Liberation Sans at 11 to 15 points.
//
// Free axis ends are rounded out to the next labelled tick (1, 2, 2.5 or
// 5 times a power of ten on linear axes; 1, 2 or 5 times one on log
// axes), and tick labels are thinned when they would overlap, as on a
// small image. Scatter labels are moved around their point to avoid one
// another where possible. Bar category labels are slanted when they
// would not fit side by side.
//
// PNG images are rendered at DPI dots per inch, so the default 8 x 4.5
// inch plot is 1200 x 675 pixels. SVG output names its font rather than
// embedding it; a viewer without Liberation Sans substitutes a similar
// sans-serif face (Liberation Sans is metrically compatible with Arial).
package chart
