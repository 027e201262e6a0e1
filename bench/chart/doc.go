// Package chart holds what the harness's plots need and gonum/plot does
// not provide: tick marks for log ranges. gonum's LogTicks labels only
// powers of ten and panics on a range that is empty or not positive;
// Log labels 1, 2 and 5 times each power of ten on a narrow range and
// every k-th decade on a wide one, and Percentile labels an axis of
// 1/(1-q), where each "nine" of a latency percentile gets the same width,
// "0%", "90%", "99%", "99.9%", ....
//
// The package is pure: tickers return plain Ticks (value and label), in
// ascending order of value, for any range, and never panic; a range that
// is empty or not positive gives no ticks. Package bench/plots adapts
// them to gonum's plot.Ticker and draws the figures.
package chart
