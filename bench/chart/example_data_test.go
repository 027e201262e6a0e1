package chart

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// chart is what every plot type implements.
type chart interface {
	Write(w io.Writer, f Format) error
	Save(path string) error
}

var (
	_ chart = Lines{}
	_ chart = Spectrum{}
	_ chart = Scatter{}
	_ chart = Bars{}
)

// sampleLines is throughput over time for three systems.
func sampleLines() Lines {
	var ss []Series
	for i, name := range []string{"chorus N=3", "chorus N=5", "etcd"} {
		s := Series{Name: name}
		for t := 0.0; t <= 60; t += 2 {
			s.X = append(s.X, t)
			s.Y = append(s.Y, 20000+float64(4000*i)+3000*math.Sin(t/6+float64(i)))
		}
		ss = append(ss, s)
	}
	return Lines{Title: "Throughput under load", XLabel: "time (s)", YLabel: "ops/s", Series: ss}
}

// sampleSpectrum is three latency distributions with tails of various
// lengths, from HdrHistogram-like quantiles.
func sampleSpectrum() Spectrum {
	var qs []Quantiles
	for i, name := range []string{"get R=1", "get R=2", "put W=2"} {
		s := Quantiles{Name: name}
		for q := 0.0; q < 1-math.Pow10(-(4+i)); q = 1 - (1-q)*0.8 {
			s.Q = append(s.Q, q)
			base := 0.3 + 0.2*float64(i)
			ms := base * (1 + math.Pow(1/(1-q), 0.35)/3)
			s.Latency = append(s.Latency, time.Duration(ms*float64(time.Millisecond)))
		}
		qs = append(qs, s)
	}
	return Spectrum{Title: "Latency by percentile (N=3)", Series: qs}
}

// sampleScatter is p99 latency against stale-read probability per R/W.
func sampleScatter() Scatter {
	var ps []Point
	for r := 1; r <= 3; r++ {
		for w := 1; w <= 3; w++ {
			group := "R+W<=N (sloppy)"
			if r+w > 3 {
				group = "R+W>N (strict)"
			}
			ps = append(ps, Point{
				Label: "R=" + string(rune('0'+r)) + " W=" + string(rune('0'+w)),
				X:     0.8 + 0.9*float64(r) + 1.1*float64(w),
				Y:     math.Max(0, 0.3-0.1*float64(r+w-2)) * float64(4-r) / 3,
				Group: group,
			})
		}
	}
	return Scatter{Title: "Consistency / latency trade-off", XLabel: "p99 latency (ms)", YLabel: "P(stale read)", Points: ps}
}

// sampleBars compares two systems across workloads.
func sampleBars() Bars {
	return Bars{
		Title:      "Throughput by workload",
		YLabel:     "ops/s",
		Categories: []string{"get c16", "get c64", "put c16", "put c64", "mixed c64"},
		Series: []BarSeries{
			{Name: "chorus", Values: []float64{41000, 88000, 23000, 51000, 62000}},
			{Name: "etcd", Values: []float64{35000, 61000, 15000, 28000, 40000}},
			{Name: "redis", Values: []float64{90000, 120000, 85000, 110000, 100000}},
		},
	}
}

// samples names one valid instance of every plot type.
func samples() map[string]chart {
	return map[string]chart{
		"lines":    sampleLines(),
		"spectrum": sampleSpectrum(),
		"scatter":  sampleScatter(),
		"bars":     sampleBars(),
	}
}

// extraSamples are further cases worth a look by eye: log axes, many
// categories (slanted labels), negative bars, a fixed y range.
func extraSamples() map[string]chart {
	loglog := Lines{Title: "p99 latency vs clients", XLabel: "clients", YLabel: "p99 (ms)", LogX: true, LogY: true}
	for i, name := range []string{"R=1", "R=2", "R=3"} {
		s := Series{Name: name}
		for c := 1.0; c <= 1024; c *= 2 {
			s.X = append(s.X, c)
			s.Y = append(s.Y, (0.2+0.1*float64(i))*math.Pow(c, 0.8))
		}
		loglog.Series = append(loglog.Series, s)
	}
	fixed := sampleLines()
	fixed.Title, fixed.YMin = "Throughput (y from 0)", ptr(0)
	var cats []string
	var a, b []float64
	for i := range 10 {
		cats = append(cats, "workload-"+string(rune('a'+i))+" c64")
		a = append(a, float64(i*i)-20)
		b = append(b, float64(10*i)-30)
	}
	return map[string]chart{
		"extra-loglog":  loglog,
		"extra-fixed-y": fixed,
		"extra-bars":    Bars{Title: "Change vs baseline", YLabel: "%", Categories: cats, Series: []BarSeries{{Name: "chorus", Values: a}, {Name: "etcd", Values: b}}},
		"extra-small":   withSize(sampleSpectrum(), 4, 3),
	}
}

// TestWriteExamples saves every sample, as PNG and SVG, into the directory
// named by $CHART_EXAMPLES, for looking at by eye. It is skipped when the
// variable is unset.
func TestWriteExamples(t *testing.T) {
	dir := os.Getenv("CHART_EXAMPLES")
	if dir == "" {
		t.Skip("set CHART_EXAMPLES=<dir> to render example images")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	all := samples()
	for name, c := range extraSamples() {
		all[name] = c
	}
	for name, p := range all {
		for _, ext := range []string{".png", ".svg"} {
			if err := p.Save(filepath.Join(dir, name+ext)); err != nil {
				t.Errorf("%s%s: %v", name, ext, err)
			}
		}
	}
}
