package backup

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

// Magic opens every backup stream.
const Magic = "CHORUSBK"

// Version is the format version this package writes; Reader accepts only
// it (a later version may change anything after the version field).
const Version = 1

// Limits of the format. A reader refuses anything larger, so that a
// corrupt length is caught before it is believed.
const (
	// MaxHeader bounds the header's JSON.
	MaxHeader = 1 << 20
	// MaxBlock bounds a block's payload. A record larger than this
	// cannot be written (a node refuses values far smaller: 8 MiB by
	// default).
	MaxBlock = 64 << 20
	// MaxKey bounds a key.
	MaxKey = 64 << 10
	// DefaultBlockSize is the payload size at which Writer ends a block of
	// records: large enough that the 9 bytes of framing do not matter,
	// small enough that a reader holds little and a truncation loses
	// little.
	DefaultBlockSize = 1 << 20
)

// Block kinds, the first byte of a block.
const (
	kindRecords   = 'R'
	kindPartition = 'P'
	kindError     = 'E'
	kindTrailer   = 'T'
)

// Sizes of the fixed parts.
const (
	magicLen      = len(Magic)
	headerFixed   = magicLen + 2 + 4 // magic, version, JSON length
	blockHeadLen  = 1 + 4            // kind, payload length
	checksumLen   = 4
	blockOverhead = blockHeadLen + checksumLen
)

// castagnoli is the CRC-32C table: the checksum iSCSI, ext4 and most
// storage formats use, with hardware support on amd64 and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header describes a backup: when it was taken and of what cluster.
type Header struct {
	// CreatedAt is when the backup started.
	CreatedAt time.Time `json:"created_at"`
	// Partitions is the ring's Q when the backup was taken.
	Partitions int `json:"partitions"`
	// Replicas is the ring's N.
	Replicas int `json:"replicas"`
	// Members are the ring's members.
	Members []string `json:"members,omitempty"`
	// Source says what wrote the stream: "chorus backup", or the node
	// that served one partition.
	Source string `json:"source,omitempty"`
}

// PartitionInfo says where one partition's records came from. It follows
// the partition's records in the stream.
type PartitionInfo struct {
	Partition uint32
	// Asked is how many replicas (the partition's primaries) were scanned.
	Asked int
	// Read is how many of them were scanned to the end; the others failed
	// partway or did not answer, and the records hold what was read.
	Read int
	// Complete is how many of those read said they hold the whole
	// partition (not a new owner still receiving it).
	Complete int
	// Keys is the number of records of the partition.
	Keys int64
}

// Trailer ends a stream with its totals.
type Trailer struct {
	// Keys is the number of records in the stream.
	Keys int64
	// Blocks is the number of blocks before the trailer.
	Blocks int64
}

// Record is one key and its sibling set.
type Record struct {
	Key []byte
	Set vclock.Set
	// Size is the length of the set's encoding, as stored.
	Size int
}

// ErrCorrupt and ErrTruncated are wrapped by *CorruptError.
var (
	ErrCorrupt   = errors.New("backup: corrupt")
	ErrTruncated = errors.New("backup: truncated")
)

// CorruptError is a stream that cannot be read past Offset, the byte where
// the bad part (the header, a block or the trailer) starts.
type CorruptError struct {
	Offset int64
	// Err is ErrCorrupt or ErrTruncated.
	Err    error
	Reason string
}

func (e *CorruptError) Error() string {
	what := "corrupt"
	if errors.Is(e.Err, ErrTruncated) {
		what = "truncated"
	}
	return fmt.Sprintf("backup: %s at byte %d: %s", what, e.Offset, e.Reason)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// SenderError is an error the writer of a stream reported in it (Writer.Fail):
// the stream is incomplete on purpose, not damaged.
type SenderError struct {
	Offset int64
	Msg    string
}

func (e *SenderError) Error() string {
	return fmt.Sprintf("backup: the sender gave up at byte %d: %s", e.Offset, e.Msg)
}

func encodeHeader(h Header) ([]byte, error) {
	js, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("backup: header: %w", err)
	}
	if len(js) > MaxHeader {
		return nil, fmt.Errorf("backup: header of %d bytes exceeds %d", len(js), MaxHeader)
	}
	b := make([]byte, 0, headerFixed+len(js)+checksumLen)
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint16(b, Version)
	b = binary.BigEndian.AppendUint32(b, uint32(len(js)))
	b = append(b, js...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[magicLen:], castagnoli)), nil
}

// frame returns a block of kind around payload.
func frame(kind byte, payload []byte) []byte {
	b := make([]byte, 0, blockOverhead+len(payload))
	b = append(b, kind)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func appendUvarints(b []byte, vs ...uint64) []byte {
	for _, v := range vs {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

// uvarints reads len(dst) uvarints from b, which they must fill exactly.
func uvarints(b []byte, dst ...*uint64) error {
	for _, d := range dst {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad varint")
		}
		*d, b = v, b[n:]
	}
	if len(b) != 0 {
		return fmt.Errorf("%d stray bytes", len(b))
	}
	return nil
}
