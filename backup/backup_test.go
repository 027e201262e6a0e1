package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/chorusdb/chorus/vclock"
)

// set returns a set written by node with the given values, the later
// concurrent with the earlier (blind writes).
func set(t testing.TB, node string, values ...string) vclock.Set {
	t.Helper()
	var s vclock.Set
	for i, v := range values {
		var err error
		s, err = s.Update(vclock.Clock{}, node, vclock.Value{Data: []byte(v), Timestamp: int64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func tombstone(t testing.TB, node string, over vclock.Set) vclock.Set {
	t.Helper()
	s, err := over.Update(over.Context(), node, vclock.Value{Tombstone: true, Timestamp: 9})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sample writes a stream of keys records in two partitions and returns it
// with the records.
func sample(t testing.TB, keys, blockSize int) ([]byte, []Record) {
	t.Helper()
	var buf bytes.Buffer
	h := Header{CreatedAt: time.Unix(1700000000, 0).UTC(), Partitions: 8, Replicas: 3, Members: []string{"a", "b", "c"}, Source: "test"}
	w, err := NewWriter(&buf, h, blockSize)
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	for i := range keys {
		s := set(t, "a", fmt.Sprintf("v%d", i))
		switch i % 3 {
		case 1:
			s = vclock.Sync(s, set(t, "b", "concurrent"))
		case 2:
			s = tombstone(t, "a", s)
		}
		key := []byte(fmt.Sprintf("key-%03d", i))
		if err := w.Add(key, s); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, Record{Key: key, Set: s, Size: len(s.Encode())})
		if i == keys/2 {
			if err := w.EndPartition(PartitionInfo{Partition: 3, Asked: 3, Read: 2, Complete: 2, Keys: int64(i + 1)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Written() != int64(buf.Len()) || w.Keys() != int64(keys) {
		t.Fatalf("writer counts %d bytes %d keys, wrote %d bytes %d keys", w.Written(), w.Keys(), buf.Len(), keys)
	}
	return buf.Bytes(), recs
}

func readAll(b []byte) ([]Record, *Reader, error) {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	var recs []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, r, nil
		}
		if err != nil {
			return recs, r, err
		}
		recs = append(recs, rec)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, bs := range []int{1, 64, 0} {
		b, want := sample(t, 40, bs)
		got, r, err := readAll(b)
		if err != nil {
			t.Fatalf("block size %d: %v", bs, err)
		}
		if len(got) != len(want) {
			t.Fatalf("block size %d: read %d records, wrote %d", bs, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i].Key, want[i].Key) || !got[i].Set.Equal(want[i].Set) || got[i].Size != want[i].Size {
				t.Fatalf("block size %d: record %d = %q %v, want %q %v", bs, i, got[i].Key, got[i].Set, want[i].Key, want[i].Set)
			}
		}
		h := r.Header()
		if h.Partitions != 8 || h.Replicas != 3 || len(h.Members) != 3 || !h.CreatedAt.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("header %+v", h)
		}
		if p := r.Partitions(); len(p) != 1 || p[0] != (PartitionInfo{Partition: 3, Asked: 3, Read: 2, Complete: 2, Keys: 21}) {
			t.Errorf("partitions %+v", p)
		}
		tr, ok := r.Trailer()
		if !ok || tr.Keys != 40 {
			t.Errorf("trailer %+v %v", tr, ok)
		}
		sum, err := Verify(bytes.NewReader(b), nil)
		if err != nil || sum.Keys != 40 || sum.Bytes != int64(len(b)) || sum.Blocks != tr.Blocks {
			t.Errorf("Verify = %+v, %v", sum, err)
		}
	}
}

// TestEveryCorruptByteIsCaught flips each byte of a stream in turn: every
// flip is refused, at an offset at or before the flipped byte.
func TestEveryCorruptByteIsCaught(t *testing.T) {
	b, _ := sample(t, 12, 64)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= byte(1 + rng.IntN(255))
		_, _, err := readAll(bad)
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("seed %d: byte %d flipped: err %v, want a *CorruptError", seed, i, err)
		}
		if ce.Offset > int64(i) {
			t.Fatalf("seed %d: byte %d flipped: reported at %d, after it", seed, i, ce.Offset)
		}
		if _, err := Verify(bytes.NewReader(bad), nil); err == nil {
			t.Fatalf("seed %d: Verify passed with byte %d flipped", seed, i)
		}
	}
}

// TestEveryTruncationIsCaught cuts the stream at every length.
func TestEveryTruncationIsCaught(t *testing.T) {
	b, _ := sample(t, 12, 64)
	for n := range len(b) {
		_, _, err := readAll(b[:n])
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d of %d: err %v, want ErrTruncated", n, len(b), err)
		}
		var ce *CorruptError
		if errors.As(err, &ce) && ce.Offset > int64(n) {
			t.Fatalf("cut at %d: reported at %d", n, ce.Offset)
		}
	}
	// A cut exactly between blocks names the missing trailer.
	_, _, err := readAll(b[:bytes.LastIndexByte(b, kindTrailer)])
	if err == nil || !errors.Is(err, ErrTruncated) {
		t.Fatalf("no trailer: %v", err)
	}
}

func TestExtraBytesAndCountsRefused(t *testing.T) {
	b, _ := sample(t, 5, 0)
	if _, _, err := readAll(append(bytes.Clone(b), 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a byte after the trailer: %v, want ErrCorrupt", err)
	}
	// A block dropped whole, checksums intact: the trailer's counts catch it.
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Header{}, 1)
	w.Add([]byte("a"), set(t, "n", "1"))
	cut := buf.Len()
	w.Add([]byte("b"), set(t, "n", "2"))
	second := buf.Len()
	w.Close()
	dropped := append(bytes.Clone(buf.Bytes()[:cut]), buf.Bytes()[second:]...)
	_, _, err := readAll(dropped)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Offset != int64(cut) {
		t.Errorf("a dropped block: %v, want corrupt at the trailer, byte %d", err, cut)
	}
}

func TestSenderError(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Header{}, 0)
	w.Add([]byte("a"), set(t, "n", "1"))
	if err := w.Fail("replicas down"); err != nil {
		t.Fatal(err)
	}
	if err := w.Add([]byte("b"), set(t, "n", "1")); err == nil {
		t.Error("Add after Fail succeeded")
	}
	recs, _, err := readAll(buf.Bytes())
	var se *SenderError
	if !errors.As(err, &se) || se.Msg != "replicas down" || len(recs) != 1 {
		t.Errorf("got %d records, %v; want 1 and the sender's error", len(recs), err)
	}
}

func TestWriterRefusesBadKeys(t *testing.T) {
	w, _ := NewWriter(io.Discard, Header{}, 0)
	if err := w.Add(nil, set(t, "n", "1")); err == nil {
		t.Error("empty key accepted")
	}
	if err := w.Add(make([]byte, MaxKey+1), set(t, "n", "1")); err == nil {
		t.Error("oversized key accepted")
	}
}

// FuzzReader: any input is read without a panic, and what reads to the
// end re-encodes to a stream that reads the same.
func FuzzReader(f *testing.F) {
	b, _ := sample(f, 6, 64)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte(Magic))
	f.Add([]byte{})
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Header{}, 0)
	w.Fail("x")
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, r, err := readAll(in)
		if err != nil {
			return
		}
		var out bytes.Buffer
		w, err := NewWriter(&out, r.Header(), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if err := w.Add(rec.Key, rec.Set); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		again, _, err := readAll(out.Bytes())
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-encoded stream: %d records, %v; want %d", len(again), err, len(recs))
		}
		for i := range again {
			if !again[i].Set.Equal(recs[i].Set) || !bytes.Equal(again[i].Key, recs[i].Key) {
				t.Fatalf("record %d differs after re-encoding", i)
			}
		}
	})
}

// sliceCursor is a replica's scan from a slice; failAt >= 0 fails there.
type sliceCursor struct {
	recs   []Record
	i      int
	failAt int
}

func (c *sliceCursor) Next(context.Context) ([]byte, vclock.Set, bool, error) {
	if c.i == c.failAt {
		return nil, vclock.Set{}, false, errors.New("replica down")
	}
	if c.i >= len(c.recs) {
		return nil, vclock.Set{}, false, nil
	}
	r := c.recs[c.i]
	c.i++
	return r.Key, r.Set, true, nil
}

func TestMergeSyncsEveryReplica(t *testing.T) {
	a1, b1 := set(t, "a", "x"), set(t, "b", "y")
	newer, err := a1.Update(a1.Context(), "a", vclock.Value{Data: []byte("x2")})
	if err != nil {
		t.Fatal(err)
	}
	r1 := &sliceCursor{failAt: -1, recs: []Record{{Key: []byte("k1"), Set: a1}, {Key: []byte("k3"), Set: newer}}}
	r2 := &sliceCursor{failAt: -1, recs: []Record{{Key: []byte("k1"), Set: b1}, {Key: []byte("k2"), Set: b1}, {Key: []byte("k3"), Set: a1}}}
	r3 := &sliceCursor{failAt: 0}
	m := NewMerger(bytes.Compare, []Cursor{r1, r2, r3})
	want := []struct {
		key string
		set vclock.Set
	}{{"k1", vclock.Sync(a1, b1)}, {"k2", b1}, {"k3", newer}}
	ctx := context.Background()
	for _, w := range want {
		k, s, ok, err := m.Next(ctx)
		if err != nil || !ok || string(k) != w.key || !s.Equal(w.set) {
			t.Fatalf("Next = %q %v %v %v, want %q %v", k, s, ok, err, w.key, w.set)
		}
	}
	if _, _, ok, err := m.Next(ctx); ok || err != nil {
		t.Fatalf("after the last key: ok %v err %v", ok, err)
	}
	if errs := m.Errors(); errs[0] != nil || errs[1] != nil || errs[2] == nil {
		t.Errorf("Errors = %v, want only the third", errs)
	}
}

func TestMergeFailsWhenNoReplicaIsRead(t *testing.T) {
	s := set(t, "a", "x")
	r1 := &sliceCursor{failAt: 1, recs: []Record{{Key: []byte("k1"), Set: s}, {Key: []byte("k2"), Set: s}}}
	m := NewMerger(bytes.Compare, []Cursor{r1, &sliceCursor{failAt: 0}})
	if _, _, ok, err := m.Next(context.Background()); !ok || err != nil {
		t.Fatalf("first key: %v %v", ok, err)
	}
	if _, _, _, err := m.Next(context.Background()); !errors.Is(err, ErrNoReplica) {
		t.Fatalf("every replica failed: %v, want ErrNoReplica", err)
	}
	// A cursor that goes back is taken out.
	back := &sliceCursor{failAt: -1, recs: []Record{{Key: []byte("k2"), Set: s}, {Key: []byte("k1"), Set: s}}}
	m = NewMerger(bytes.Compare, []Cursor{back})
	m.Next(context.Background())
	if _, _, _, err := m.Next(context.Background()); !errors.Is(err, ErrNoReplica) {
		t.Fatalf("a cursor out of order: %v, want it failed", err)
	}
}

func TestClassify(t *testing.T) {
	old := set(t, "a", "x")
	newer, _ := old.Update(old.Context(), "a", vclock.Value{Data: []byte("x2")})
	other := set(t, "b", "y")
	cases := []struct {
		name            string
		cluster, backed vclock.Set
		want            Change
	}{
		{"absent", vclock.Set{}, old, New},
		{"equal", old, old, Covered},
		{"superseded", newer, old, Covered},
		{"older in the cluster", old, newer, Adds},
		{"concurrent", other, old, Adds},
		{"deleted since", tombstone(t, "a", old), old, Covered},
		{"same dot, other value (a wiped node kept its ID)", set(t, "a", "other"), old, Clash},
	}
	for _, c := range cases {
		if got := Classify(c.cluster, c.backed); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
