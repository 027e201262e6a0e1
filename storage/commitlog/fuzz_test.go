package commitlog

import (
	"bytes"
	"testing"
)

// FuzzSegment decodes arbitrary bytes as a segment: no panic, no read past
// the end, and the records decoded are exactly the bytes up to end.
func FuzzSegment(f *testing.F) {
	seg := appendHeader(nil, 7)
	seg = appendRecord(seg, []byte("one"))
	seg = appendRecord(seg, []byte("two two"))
	f.Add(seg)
	f.Add(append(bytes.Clone(seg), make([]byte, 40)...))
	f.Add(seg[:len(seg)-2])
	f.Add(append(bytes.Clone(seg), 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4))
	f.Add(make([]byte, HeaderLen))
	f.Add([]byte("CHORUSCL"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := decodeHeader(b); err != nil {
			return
		}
		var again []byte
		end, _, err := scanRecords(bytes.NewReader(b), int64(len(b)), func(p []byte) error {
			again = appendRecord(again, p)
			return nil
		})
		if err != nil {
			t.Fatalf("scan of in-memory bytes: %v", err)
		}
		if end < HeaderLen || end > int64(max(len(b), HeaderLen)) {
			t.Fatalf("end %d outside [%d, %d]", end, HeaderLen, len(b))
		}
		if len(b) > HeaderLen && !bytes.Equal(again, b[HeaderLen:end]) {
			t.Fatalf("records do not re-encode to the bytes before end %d", end)
		}
	})
}
