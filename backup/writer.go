package backup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/chorusdb/chorus/vclock"
)

// Writer writes a backup stream. It is not safe for concurrent use. Each
// block goes to the underlying writer in one Write call, so a caller that
// flushes after each (an HTTP answer) streams block by block.
type Writer struct {
	w         io.Writer
	blockSize int
	// recs is the open block's records; n how many.
	recs   []byte
	n      uint64
	keys   int64
	blocks int64
	bytes  int64
	err    error // sticky: the first write error, or errClosed
}

var errClosed = errors.New("backup: writer closed")

// NewWriter writes h to w and returns a Writer of the stream's blocks.
// blockSize is the payload at which a block of records ends; 0 means
// DefaultBlockSize.
func NewWriter(w io.Writer, h Header, blockSize int) (*Writer, error) {
	if blockSize <= 0 || blockSize > MaxBlock {
		blockSize = DefaultBlockSize
	}
	b, err := encodeHeader(h)
	if err != nil {
		return nil, err
	}
	bw := &Writer{w: w, blockSize: blockSize}
	if err := bw.write(b); err != nil {
		return nil, err
	}
	return bw, nil
}

func (w *Writer) write(b []byte) error {
	if w.err != nil {
		return w.err
	}
	n, err := w.w.Write(b)
	w.bytes += int64(n)
	if err != nil {
		w.err = fmt.Errorf("backup: write: %w", err)
	}
	return w.err
}

// Add appends a record.
func (w *Writer) Add(key []byte, set vclock.Set) error {
	return w.AddEncoded(key, set.Encode())
}

// AddEncoded appends a record whose set is already encoded (vclock's
// encoding, as storage and the internode scan carry it).
func (w *Writer) AddEncoded(key, set []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(key) == 0 || len(key) > MaxKey {
		return fmt.Errorf("backup: key of %d bytes: want 1 to %d", len(key), MaxKey)
	}
	size := 2*binary.MaxVarintLen64 + len(key) + len(set)
	if size+binary.MaxVarintLen64 > MaxBlock {
		return fmt.Errorf("backup: record of %d bytes exceeds the block limit %d", size, MaxBlock)
	}
	if len(w.recs)+size > w.blockSize && w.n > 0 {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	w.recs = binary.AppendUvarint(w.recs, uint64(len(key)))
	w.recs = append(w.recs, key...)
	w.recs = binary.AppendUvarint(w.recs, uint64(len(set)))
	w.recs = append(w.recs, set...)
	w.n++
	w.keys++
	if len(w.recs) >= w.blockSize {
		return w.Flush()
	}
	return nil
}

// Flush ends the open block of records, if it holds any, and writes it.
func (w *Writer) Flush() error {
	if w.err != nil || w.n == 0 {
		return w.err
	}
	payload := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(w.recs)), w.n)
	payload = append(payload, w.recs...)
	w.recs, w.n = w.recs[:0], 0
	return w.block(kindRecords, payload)
}

func (w *Writer) block(kind byte, payload []byte) error {
	if err := w.write(frame(kind, payload)); err != nil {
		return err
	}
	w.blocks++
	return nil
}

// EndPartition ends the records of a partition with where they came from.
func (w *Writer) EndPartition(p PartitionInfo) error {
	if err := w.Flush(); err != nil {
		return err
	}
	return w.block(kindPartition, appendUvarints(nil, uint64(p.Partition), uint64(p.Asked),
		uint64(p.Read), uint64(p.Complete), uint64(p.Keys)))
}

// Fail ends the stream with an error the reader reports as a
// *SenderError: the records before it are valid, the stream incomplete.
// The Writer takes nothing after.
func (w *Writer) Fail(msg string) error {
	if err := w.Flush(); err != nil {
		return err
	}
	err := w.block(kindError, []byte(msg))
	if w.err == nil {
		w.err = errClosed
	}
	return err
}

// Close writes the open block and the trailer. It does not close the
// underlying writer. The Writer takes nothing after.
func (w *Writer) Close() error {
	if err := w.Flush(); err != nil {
		return err
	}
	err := w.write(frame(kindTrailer, appendUvarints(nil, uint64(w.keys), uint64(w.blocks))))
	if w.err == nil {
		w.err = errClosed
	}
	return err
}

// Keys returns the number of records added.
func (w *Writer) Keys() int64 { return w.keys }

// Written returns the bytes written to the underlying writer.
func (w *Writer) Written() int64 { return w.bytes }
