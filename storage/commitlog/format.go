package commitlog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Segment format, version 1 (all integers little-endian):
//
//	segment = header | record* | end
//	header  = magic (8 bytes "CHORUSCL") | version (uint32, 1) | seq (uint64) | crc (uint32)
//	record  = length (uint32, >= 1) | crc (uint32) | payload (length bytes)
//	end     = zero bytes to the end of the file (a length of 0), or the end of the file
//
// The header's crc is CRC-32C of the 20 bytes before it; a record's crc is
// CRC-32C (Castagnoli) of its payload. seq repeats the file name's
// sequence number, so a misplaced file is noticed.

const (
	// Version is the segment format this package writes and reads.
	Version = 1

	// HeaderLen is the size of a segment header.
	HeaderLen = 24

	// recordHeaderLen is a record's length and crc.
	recordHeaderLen = 8

	// MaxRecordLen bounds a record's payload; a larger length is torn or
	// corrupt, never a record (storage values are at most 64 MiB).
	MaxRecordLen = 1 << 28
)

var magic = [8]byte{'C', 'H', 'O', 'R', 'U', 'S', 'C', 'L'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors, checked with errors.Is; the message names the file and offset.
var (
	// ErrCorrupt means a segment holds bytes that are not the log format
	// where a complete record or header must be.
	ErrCorrupt = errors.New("commitlog: corrupt segment")
	// ErrVersion means a segment was written in another format version.
	ErrVersion = errors.New("commitlog: segment format version not readable by this build")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("commitlog: closed")
)

// appendHeader appends the header of segment seq to b.
func appendHeader(b []byte, seq uint64) []byte {
	start := len(b)
	b = append(b, magic[:]...)
	b = binary.LittleEndian.AppendUint32(b, Version)
	b = binary.LittleEndian.AppendUint64(b, seq)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// appendRecord appends one record holding payload to b.
func appendRecord(b, payload []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, castagnoli))
	return append(b, payload...)
}

// errTorn marks a problem a crash can leave at the end of the last
// segment: a header or record that was never completely written.
var errTorn = errors.New("torn")

// decodeHeader checks a segment header and returns its seq. A short,
// zero or checksum-failing header is errTorn; another magic is
// ErrCorrupt; another version is ErrVersion.
func decodeHeader(h []byte) (uint64, error) {
	if len(h) < HeaderLen {
		return 0, fmt.Errorf("%w: header of %d bytes", errTorn, len(h))
	}
	if [8]byte(h[:8]) != magic {
		if allZero(h[:HeaderLen]) {
			return 0, fmt.Errorf("%w: zero header", errTorn)
		}
		return 0, fmt.Errorf("%w: not a commit log segment (magic %q)", ErrCorrupt, h[:8])
	}
	if crc32.Checksum(h[:20], castagnoli) != binary.LittleEndian.Uint32(h[20:24]) {
		return 0, fmt.Errorf("%w: header checksum mismatch", errTorn)
	}
	if v := binary.LittleEndian.Uint32(h[8:12]); v != Version {
		return 0, fmt.Errorf("%w: segment format version %d, this build reads %d", ErrVersion, v, Version)
	}
	return binary.LittleEndian.Uint64(h[12:20]), nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// scanRecords calls fn (if not nil) for each record of a segment whose
// records start at HeaderLen and whose file is size bytes long. It
// returns the offset just past the last good record, and torn, non-nil
// (wrapping errTorn, naming the offset) when the records ended on a bad
// record rather than on a zero length or the end of the file. err is a
// read error or fn's error, returned as it is. fn's payload is valid only
// during the call.
func scanRecords(r io.ReaderAt, size int64, fn func(payload []byte) error) (end int64, torn, err error) {
	end = HeaderLen
	if size <= end {
		return end, nil, nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, end, size-end), 1<<16)
	var hdr [recordHeaderLen]byte
	var buf []byte
	for {
		left := size - end
		if left < recordHeaderLen {
			if left > 0 {
				if _, err := io.ReadFull(br, hdr[:left]); err != nil {
					return end, nil, err
				}
				if !allZero(hdr[:left]) {
					return end, fmt.Errorf("%w: %d stray bytes at offset %d", errTorn, left, end), nil
				}
			}
			return end, nil, nil
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return end, nil, err
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n == 0 {
			if allZero(hdr[4:]) {
				return end, nil, nil
			}
			return end, fmt.Errorf("%w: zero length with a checksum at offset %d", errTorn, end), nil
		}
		if n > MaxRecordLen || int64(n) > left-recordHeaderLen {
			return end, fmt.Errorf("%w: record of %d bytes at offset %d overruns the segment", errTorn, n, end), nil
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return end, nil, err
		}
		if crc32.Checksum(buf, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
			return end, fmt.Errorf("%w: checksum mismatch in the record at offset %d", errTorn, end), nil
		}
		if fn != nil {
			if err := fn(buf); err != nil {
				return end, nil, err
			}
		}
		end += recordHeaderLen + int64(n)
	}
}
