package backup

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/chorusdb/chorus/vclock"
)

// Reader reads a backup stream. It is not safe for concurrent use.
type Reader struct {
	r      io.Reader
	header Header
	// off is the offset of the next unread byte.
	off int64
	buf bytes.Buffer
	// pending are the checked records of the last block not handed out.
	pending []Record
	parts   []PartitionInfo
	keys    int64
	blocks  int64
	trailer *Trailer
	err     error // sticky
}

// NewReader reads and checks the header of the stream r.
func NewReader(r io.Reader) (*Reader, error) {
	br := &Reader{r: r}
	if err := br.readHeader(); err != nil {
		return nil, err
	}
	return br, nil
}

// Header returns the stream's header.
func (r *Reader) Header() Header { return r.header }

// Partitions returns the partition blocks read so far.
func (r *Reader) Partitions() []PartitionInfo { return r.parts }

// Offset returns the bytes read so far.
func (r *Reader) Offset() int64 { return r.off }

// Trailer returns the trailer once Next has returned io.EOF.
func (r *Reader) Trailer() (Trailer, bool) {
	if r.trailer == nil {
		return Trailer{}, false
	}
	return *r.trailer, true
}

func corrupt(off int64, format string, args ...any) error {
	return &CorruptError{Offset: off, Err: ErrCorrupt, Reason: fmt.Sprintf(format, args...)}
}

func truncated(off int64, format string, args ...any) error {
	return &CorruptError{Offset: off, Err: ErrTruncated, Reason: fmt.Sprintf(format, args...)}
}

// read reads n bytes into r.buf (replacing it), growing the buffer only
// as bytes arrive. start is the offset of the part being read, for errors.
func (r *Reader) read(n int64, start int64, what string) ([]byte, error) {
	r.buf.Reset()
	got, err := io.CopyN(&r.buf, r.r, n)
	r.off += got
	switch {
	case err == io.EOF:
		return nil, truncated(start, "%s cut short: %d of %d bytes", what, got, n)
	case err != nil:
		return nil, fmt.Errorf("backup: read at byte %d: %w", r.off, err)
	}
	return r.buf.Bytes(), nil
}

func (r *Reader) readHeader() error {
	fixed, err := r.read(int64(headerFixed), 0, "header")
	if err != nil {
		return err
	}
	if string(fixed[:magicLen]) != Magic {
		return corrupt(0, "not a Chorus backup (magic %q)", fixed[:magicLen])
	}
	if v := binary.BigEndian.Uint16(fixed[magicLen:]); v != Version {
		return corrupt(0, "format version %d, this build reads %d", v, Version)
	}
	n := binary.BigEndian.Uint32(fixed[magicLen+2:])
	if n > MaxHeader {
		return corrupt(0, "header of %d bytes exceeds %d", n, MaxHeader)
	}
	sum := crc32.Checksum(fixed[magicLen:], castagnoli)
	rest, err := r.read(int64(n)+checksumLen, 0, "header")
	if err != nil {
		return err
	}
	js := rest[:n]
	sum = crc32.Update(sum, castagnoli, js)
	if binary.BigEndian.Uint32(rest[n:]) != sum {
		return corrupt(0, "header checksum mismatch")
	}
	if err := json.Unmarshal(js, &r.header); err != nil {
		return corrupt(0, "header: %v", err)
	}
	return nil
}

// Next returns the next record. It returns io.EOF after the trailer, once
// the stream has been checked whole (counts match, nothing follows), a
// *CorruptError for a damaged stream, or a *SenderError for a stream its
// writer ended with an error. After an error, every call returns it.
func (r *Reader) Next() (Record, error) {
	for len(r.pending) == 0 {
		if r.err != nil {
			return Record{}, r.err
		}
		r.err = r.nextBlock()
	}
	rec := r.pending[0]
	r.pending = r.pending[1:]
	return rec, nil
}

// nextBlock reads one block; io.EOF once the trailer is read and checked.
func (r *Reader) nextBlock() error {
	start := r.off
	head, err := r.read(int64(blockHeadLen), start, "block header")
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) && r.off == start {
			return truncated(start, "no trailer: the stream ends after %d blocks", r.blocks)
		}
		return err
	}
	kind, n := head[0], binary.BigEndian.Uint32(head[1:])
	switch kind {
	case kindRecords, kindPartition, kindError, kindTrailer:
	default:
		return corrupt(start, "unknown block kind 0x%02x", kind)
	}
	if n > MaxBlock {
		return corrupt(start, "block of %d bytes exceeds %d", n, MaxBlock)
	}
	sum := crc32.Checksum(head, castagnoli)
	body, err := r.read(int64(n)+checksumLen, start, "block")
	if err != nil {
		return err
	}
	payload := body[:n]
	if binary.BigEndian.Uint32(body[n:]) != crc32.Update(sum, castagnoli, payload) {
		return corrupt(start, "block checksum mismatch")
	}
	switch kind {
	case kindRecords:
		err = r.records(payload)
	case kindPartition:
		err = r.partition(payload)
	case kindError:
		return &SenderError{Offset: start, Msg: string(payload)}
	case kindTrailer:
		return r.end(payload)
	}
	if err != nil {
		return corrupt(start, "%v", err)
	}
	r.blocks++
	return nil
}

// records decodes a block of records into r.pending, all or none.
func (r *Reader) records(b []byte) error {
	count, n := binary.Uvarint(b)
	if n <= 0 || count == 0 {
		return errors.New("records block without a record count")
	}
	b = b[n:]
	// A record takes at least 4 bytes: two lengths, a key byte, a set byte.
	if count > uint64(len(b))/4 {
		return fmt.Errorf("record count %d does not fit in %d bytes", count, len(b))
	}
	recs := make([]Record, 0, count)
	for i := range count {
		key, rest, err := field(b, MaxKey)
		if err != nil || len(key) == 0 {
			return fmt.Errorf("record %d: bad key (%v)", i, err)
		}
		enc, rest, err := field(rest, MaxBlock)
		if err != nil {
			return fmt.Errorf("record %d: bad set (%v)", i, err)
		}
		set, err := vclock.Decode(enc)
		if err != nil {
			return fmt.Errorf("record %d: %v", i, err)
		}
		recs = append(recs, Record{Key: bytes.Clone(key), Set: set, Size: len(enc)})
		b = rest
	}
	if len(b) != 0 {
		return fmt.Errorf("%d stray bytes after %d records", len(b), count)
	}
	r.pending = recs
	r.keys += int64(count)
	return nil
}

// field reads a length-prefixed field of at most limit bytes.
func field(b []byte, limit int) (f, rest []byte, err error) {
	l, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, nil, errors.New("bad length")
	}
	b = b[n:]
	if l > uint64(limit) || l > uint64(len(b)) {
		return nil, nil, fmt.Errorf("length %d past the block", l)
	}
	return b[:l], b[l:], nil
}

func (r *Reader) partition(b []byte) error {
	var p, asked, read, complete, keys uint64
	if err := uvarints(b, &p, &asked, &read, &complete, &keys); err != nil {
		return fmt.Errorf("partition block: %v", err)
	}
	if p > 1<<32-1 || read > asked || complete > read || keys > uint64(r.keys) {
		return fmt.Errorf("partition block: inconsistent values %d %d %d %d %d", p, asked, read, complete, keys)
	}
	r.parts = append(r.parts, PartitionInfo{Partition: uint32(p), Asked: int(asked), Read: int(read),
		Complete: int(complete), Keys: int64(keys)})
	return nil
}

// end checks the trailer and that nothing follows it.
func (r *Reader) end(b []byte) error {
	start := r.off - int64(len(b)) - blockOverhead
	var keys, blocks uint64
	if err := uvarints(b, &keys, &blocks); err != nil {
		return corrupt(start, "trailer: %v", err)
	}
	if keys != uint64(r.keys) || blocks != uint64(r.blocks) {
		return corrupt(start, "trailer counts %d keys in %d blocks, the stream holds %d in %d",
			keys, blocks, r.keys, r.blocks)
	}
	var one [1]byte
	if n, _ := io.ReadFull(r.r, one[:]); n > 0 {
		return corrupt(r.off, "bytes after the trailer")
	}
	r.trailer = &Trailer{Keys: int64(keys), Blocks: int64(blocks)}
	return io.EOF
}

// Summary is what Verify found in a whole stream.
type Summary struct {
	Header     Header
	Keys       int64
	Blocks     int64
	Bytes      int64
	Partitions []PartitionInfo
}

// Verify reads the whole stream and checks it, calling progress (when
// not nil) after every block with the records and bytes read so far.
func Verify(r io.Reader, progress func(keys, bytes int64)) (Summary, error) {
	br, err := NewReader(r)
	if err != nil {
		return Summary{}, err
	}
	var keys int64
	blocks := br.blocks
	for {
		_, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Summary{}, err
		}
		keys++
		if progress != nil && br.blocks != blocks && len(br.pending) == 0 {
			blocks = br.blocks
			progress(keys, br.off)
		}
	}
	t, _ := br.Trailer()
	if progress != nil {
		progress(keys, br.off)
	}
	return Summary{Header: br.header, Keys: t.Keys, Blocks: t.Blocks, Bytes: br.off, Partitions: br.parts}, nil
}
