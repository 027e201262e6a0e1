// Package plots draws the figures of the benchmark harness as PNG images
// with gonum/plot: a run's throughput over time and latency spectrum, a
// comparison's bars and spectra, a failover's write rate, a staleness
// curve, and a quorum experiment's staleness, trade-off, availability and
// latency plots.
//
// Every figure is plain gonum/plot, with the log-range tickers of package
// chart and the legend drawn in a strip to the right of the data area,
// so that it never hides data. A point of a scatter plot is named by its
// legend entry (each setting its own colour and marker), not by a label
// beside it: labels of nearby points overlapped into unreadable text.
//
// A figure is written to a temporary file in the destination's directory
// and renamed over it, so a reader never sees a partial image and a
// failed write leaves an earlier file untouched.
package plots
