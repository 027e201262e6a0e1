package chart

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFormatOf(t *testing.T) {
	tests := []struct {
		path string
		want Format
		ok   bool
	}{
		{"out.png", PNG, true},
		{"/tmp/dir.x/out.svg", SVG, true},
		{"OUT.PNG", PNG, true},
		{"a.Svg", SVG, true},
		{"out.txt", "", false},
		{"out", "", false},
		{"out.png.gz", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := FormatOf(tt.path)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("FormatOf(%q) = %q, %v; want %q, nil", tt.path, got, err, tt.want)
		}
		if !tt.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("FormatOf(%q) error = %v; want ErrInvalid", tt.path, err)
		}
	}
}

// TestWritePNG checks every plot type at the default and a custom size
// decodes as a PNG of Width*DPI x Height*DPI pixels.
func TestWritePNG(t *testing.T) {
	sizes := []struct{ w, h, wantW, wantH float64 }{
		{0, 0, DefaultWidth, DefaultHeight},
		{2.5, 1.6, 2.5, 1.6}, // small, to keep -race runs fast
	}
	for name, c := range samples() {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // rasterising dominates the run time under -race
			for _, sz := range sizes {
				checkPNG(t, withSize(c, sz.w, sz.h), sz.wantW, sz.wantH)
			}
		})
	}
}

// checkPNG writes c as PNG and checks the image is w x h inches at DPI.
func checkPNG(t *testing.T, c chart, w, h float64) {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Write(&buf, PNG); err != nil {
		t.Fatalf("%gx%g: Write: %v", w, h, err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("%gx%g: decode: %v", w, h, err)
	}
	gotW, gotH := img.Bounds().Dx(), img.Bounds().Dy()
	wantW, wantH := int(math.Round(w*DPI)), int(math.Round(h*DPI))
	if gotW != wantW || gotH != wantH {
		t.Errorf("%gx%g in: image is %dx%d px, want %dx%d", w, h, gotW, gotH, wantW, wantH)
	}
}

// withSize returns c with Width and Height set.
func withSize(c chart, w, h float64) chart {
	switch v := c.(type) {
	case Lines:
		v.Width, v.Height = w, h
		return v
	case Spectrum:
		v.Width, v.Height = w, h
		return v
	case Scatter:
		v.Width, v.Height = w, h
		return v
	case Bars:
		v.Width, v.Height = w, h
		return v
	}
	panic("unknown chart type")
}

func TestWriteSVG(t *testing.T) {
	for name, c := range samples() {
		var buf bytes.Buffer
		if err := c.Write(&buf, SVG); err != nil {
			t.Fatalf("%s: Write: %v", name, err)
		}
		s := buf.String()
		if !strings.HasPrefix(s, "<?xml") && !strings.Contains(s, "<svg") {
			t.Errorf("%s: output does not look like SVG: %.80q", name, s)
		}
	}
}

// TestSpectrumTickLabels checks the percentile axis labels of a
// distribution reaching q = 0.9995 (between three and four nines).
func TestSpectrumTickLabels(t *testing.T) {
	s := Spectrum{Series: []Quantiles{{
		Q:       []float64{0, 0.5, 0.9, 0.99, 0.999, 0.9995},
		Latency: []time.Duration{1, 2, 3, 4, 5, 6},
	}}}
	fg, err := s.figure()
	if err != nil {
		t.Fatal(err)
	}
	x := fg.plot.X
	if x.Min != 1 || x.Max != 1e4 {
		t.Errorf("x range = [%g, %g], want [1, 1e4]", x.Min, x.Max)
	}
	var got []string
	for _, tk := range x.Tick.Marker.Ticks(x.Min, x.Max) {
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	want := []string{"0%", "90%", "99%", "99.9%", "99.99%"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tick labels = %q, want %q", got, want)
	}
}

// TestEdgeCases checks that valid but awkward input renders: series with
// no drawable points, degenerate or extreme ranges, long names.
func TestEdgeCases(t *testing.T) {
	tests := map[string]chart{
		"lines empty":        Lines{Series: []Series{{Name: "a"}, {Name: "b", X: []float64{1, 2}, Y: []float64{3, 4}}}},
		"lines all empty":    Lines{Series: []Series{{Name: "a"}}},
		"lines log skipped":  Lines{LogX: true, LogY: true, Series: []Series{{X: []float64{-1, 0, 5}, Y: []float64{1, 2, 0}}}},
		"lines one point":    Lines{Series: []Series{{X: []float64{3}, Y: []float64{3}}}},
		"lines fixed range":  Lines{YMin: ptr(10), Series: []Series{{X: []float64{1, 2}, Y: []float64{1, 2}}}},
		"lines log fixed":    Lines{LogY: true, YMax: ptr(0.5), Series: []Series{{X: []float64{1, 2}, Y: []float64{1, 2}}}},
		"spectrum empty":     Spectrum{Series: []Quantiles{{Name: "none"}}},
		"spectrum zero lat":  Spectrum{Series: []Quantiles{{Q: []float64{0, 0.5}, Latency: []time.Duration{0, 0}}}},
		"scatter log skip":   Scatter{LogX: true, Points: []Point{{Label: "gone", X: -1, Y: 1}}},
		"scatter one point":  Scatter{Points: []Point{{Label: "p", X: 0, Y: 0}}},
		"bars zero values":   Bars{Categories: []string{"a"}, Series: []BarSeries{{Values: []float64{0}}}},
		"bars negative":      Bars{Categories: []string{"a", "b"}, Series: []BarSeries{{Values: []float64{-3, 2}}}},
		"bars crowded":       Bars{Categories: strings.Fields(strings.Repeat("long-category-name ", 12)), Series: []BarSeries{{Values: make([]float64, 12)}}},
		"lines extreme":      Lines{Series: []Series{{X: []float64{-MaxAbs, MaxAbs}, Y: []float64{5e-324, 0}}}},
		"lines log extreme":  Lines{LogX: true, LogY: true, Series: []Series{{X: []float64{5e-324, MaxAbs}, Y: []float64{MaxAbs, 5e-324}}}},
		"lines tiny range":   Lines{Series: []Series{{X: []float64{1, 1 + 1e-15}, Y: []float64{1e9, 1e9 + 1e-6}}}},
		"lines long name":    Lines{Series: []Series{{Name: strings.Repeat("x", 200), X: []float64{1}, Y: []float64{1}}}},
		"spectrum max q":     Spectrum{Series: []Quantiles{{Q: []float64{0, math.Nextafter(1, 0)}, Latency: []time.Duration{0, math.MaxInt64}}}},
		"spectrum ns unit":   Spectrum{Unit: time.Nanosecond, Series: []Quantiles{{Q: []float64{0.5, 0.5, 0.9}, Latency: []time.Duration{1, 1, 1}}}},
		"spectrum odd unit":  Spectrum{Unit: 250 * time.Microsecond, Series: okQuantiles()},
		"scatter extreme":    Scatter{LogX: true, Points: []Point{{X: 5e-324, Y: -MaxAbs, Group: "a"}, {X: MaxAbs, Y: MaxAbs, Group: "b"}}},
		"scatter same point": Scatter{Points: []Point{{Label: "a", X: 1, Y: 1}, {Label: "b", X: 1, Y: 1}, {Label: "c", X: 1, Y: 1}}},
		"bars extreme":       Bars{Categories: []string{"a", "b"}, Series: []BarSeries{{Values: []float64{-MaxAbs, MaxAbs}}}},
		"many series":        manySeries(70),
		"lines unicode name": Lines{Title: "latence µs — ☃", Series: []Series{{Name: "naïve", X: []float64{1}, Y: []float64{1}}}},
	}
	for name, c := range tests {
		// Small, as PNG rasterising dominates the test time under -race.
		c = withSize(c, 2.5, 2)
		for _, f := range []Format{PNG, SVG} {
			if err := c.Write(&bytes.Buffer{}, f); err != nil {
				t.Errorf("%s %s: %v", name, f, err)
			}
		}
	}
}

func ptr(v float64) *float64 { return &v }

func okQuantiles() []Quantiles {
	return []Quantiles{{Q: []float64{0.5, 0.99}, Latency: []time.Duration{time.Millisecond, 3 * time.Millisecond}}}
}

// manySeries returns Lines with n one-point series, more than the
// colour and dash palettes hold.
func manySeries(n int) Lines {
	var l Lines
	for i := range n {
		l.Series = append(l.Series, Series{Name: "s", X: []float64{float64(i)}, Y: []float64{1}})
	}
	return l
}

// TestInvalid checks each kind of bad input yields ErrInvalid, writes
// nothing, and does not panic.
func TestInvalid(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	okSeries := []Series{{X: []float64{1}, Y: []float64{1}}}
	okQ := []Quantiles{{Q: []float64{0.5}, Latency: []time.Duration{1}}}
	okBars := []BarSeries{{Values: []float64{1}}}
	tests := map[string]chart{
		"lines no series":        Lines{},
		"lines length mismatch":  Lines{Series: []Series{{X: []float64{1, 2}, Y: []float64{1}}}},
		"lines NaN x":            Lines{Series: []Series{{X: []float64{nan}, Y: []float64{1}}}},
		"lines Inf y":            Lines{Series: []Series{{X: []float64{1}, Y: []float64{-inf}}}},
		"lines huge y":           Lines{Series: []Series{{X: []float64{1}, Y: []float64{1e301}}}},
		"lines NaN YMin":         Lines{Series: okSeries, YMin: ptr(nan)},
		"lines YMin above YMax":  Lines{Series: okSeries, YMin: ptr(2), YMax: ptr(1)},
		"lines YMin equals YMax": Lines{Series: okSeries, YMin: ptr(1), YMax: ptr(1)},
		"lines log YMin zero":    Lines{Series: okSeries, LogY: true, YMin: ptr(0)},
		"lines negative width":   Lines{Series: okSeries, Width: -1},
		"lines tiny height":      Lines{Series: okSeries, Height: 0.1},
		"lines huge width":       Lines{Series: okSeries, Width: 1e6},
		"lines NaN width":        Lines{Series: okSeries, Width: nan},
		"spectrum no series":     Spectrum{},
		"spectrum mismatch":      Spectrum{Series: []Quantiles{{Q: []float64{0.5}}}},
		"spectrum q = 1":         Spectrum{Series: []Quantiles{{Q: []float64{1}, Latency: []time.Duration{1}}}},
		"spectrum q < 0":         Spectrum{Series: []Quantiles{{Q: []float64{-0.1}, Latency: []time.Duration{1}}}},
		"spectrum q NaN":         Spectrum{Series: []Quantiles{{Q: []float64{nan}, Latency: []time.Duration{1}}}},
		"spectrum q descending":  Spectrum{Series: []Quantiles{{Q: []float64{0.9, 0.5}, Latency: []time.Duration{1, 2}}}},
		"spectrum negative lat":  Spectrum{Series: []Quantiles{{Q: []float64{0.5}, Latency: []time.Duration{-1}}}},
		"spectrum negative unit": Spectrum{Series: okQ, Unit: -time.Second},
		"spectrum inf height":    Spectrum{Series: okQ, Height: inf},
		"scatter no points":      Scatter{},
		"scatter NaN y":          Scatter{Points: []Point{{X: 1, Y: nan}}},
		"scatter Inf x":          Scatter{Points: []Point{{X: inf, Y: 1}}},
		"bars no series":         Bars{Categories: []string{"a"}},
		"bars no categories":     Bars{Series: []BarSeries{{}}},
		"bars too few values":    Bars{Categories: []string{"a", "b"}, Series: okBars},
		"bars too many values":   Bars{Categories: []string{"a"}, Series: []BarSeries{{Values: []float64{1, 2}}}},
		"bars NaN value":         Bars{Categories: []string{"a"}, Series: []BarSeries{{Values: []float64{nan}}}},
		"bars width too small":   Bars{Categories: []string{"a"}, Series: okBars, Width: 0.5},
	}
	for name, c := range tests {
		for _, f := range []Format{PNG, SVG} {
			var buf bytes.Buffer
			err := c.Write(&buf, f)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s %s: error = %v, want ErrInvalid", name, f, err)
			}
			if buf.Len() != 0 {
				t.Errorf("%s %s: wrote %d bytes on error", name, f, buf.Len())
			}
		}
	}
}

// TestUnknownFormat checks every type rejects a format it does not know.
func TestUnknownFormat(t *testing.T) {
	for name, c := range samples() {
		for _, f := range []Format{"", "jpg", "PNG", "pdf"} {
			var buf bytes.Buffer
			if err := c.Write(&buf, f); !errors.Is(err, ErrInvalid) || buf.Len() != 0 {
				t.Errorf("%s format %q: error = %v, %d bytes; want ErrInvalid, 0 bytes", name, f, err, buf.Len())
			}
		}
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	for name, c := range samples() {
		c = withSize(c, 2.5, 2)
		for _, file := range []string{name + ".png", name + ".SVG"} {
			path := filepath.Join(dir, file)
			if err := c.Save(path); err != nil {
				t.Fatalf("Save(%s): %v", file, err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			isPNG := bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n"))
			isSVG := bytes.Contains(data, []byte("<svg"))
			if want := strings.HasSuffix(file, ".png"); isPNG != want || isSVG == want {
				t.Errorf("Save(%s): PNG=%v SVG=%v", file, isPNG, isSVG)
			}
		}
	}
	assertOnly(t, dir, 8)
}

// TestSaveErrors checks a failed Save creates no file, leaves an existing
// one untouched, and cleans up its temporary file.
func TestSaveErrors(t *testing.T) {
	dir := t.TempDir()
	good := sampleLines()
	if err := good.Save(filepath.Join(dir, "plot.txt")); !errors.Is(err, ErrInvalid) {
		t.Errorf("Save(.txt) error = %v, want ErrInvalid", err)
	}
	assertOnly(t, dir, 0)

	path := filepath.Join(dir, "plot.png")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := (Lines{}).Save(path); !errors.Is(err, ErrInvalid) {
		t.Errorf("Save(invalid) error = %v, want ErrInvalid", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Errorf("failed Save changed the file to %d bytes", len(data))
	}
	assertOnly(t, dir, 1)

	if err := good.Save(filepath.Join(dir, "missing", "plot.png")); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("Save into missing dir error = %v, want a non-ErrInvalid error", err)
	}
}

// assertOnly fails unless dir holds exactly n entries, none temporary.
func assertOnly(t *testing.T, dir string, n int) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	if len(ents) != n {
		t.Errorf("%s holds %d entries, want %d", dir, len(ents), n)
	}
}

// TestConcurrentWrite renders the same values from several goroutines;
// under -race it checks Write neither mutates its receiver nor shares
// unsynchronised state in the plotting library.
func TestConcurrentWrite(t *testing.T) {
	var wg sync.WaitGroup
	for _, c := range samples() {
		for range 2 {
			wg.Go(func() {
				if err := c.Write(&bytes.Buffer{}, SVG); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
}

// errWriter fails every write.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	for _, f := range []Format{PNG, SVG} {
		err := withSize(sampleBars(), 2, 2).Write(errWriter{}, f)
		if err == nil || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: error = %v, want the writer's error", f, err)
		}
	}
}
