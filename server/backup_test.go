package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/chorusdb/chorus/backup"
	"github.com/chorusdb/chorus/clock"
	"github.com/chorusdb/chorus/server"
	"github.com/chorusdb/chorus/transport/pb"
	"github.com/chorusdb/chorus/vclock"
)

// backupPartitions is Q of the backup tests' rings: small, so that every
// partition is walked in little time.
const backupPartitions = 16

// smallRing is the backup tests' node config: a small ring, and no
// backoff for foreground latency (the race detector and a loaded box make
// any p99 high; TestBackupScansArePaced tests the backoff).
func smallRing(cfg *server.Config) {
	cfg.Ring.Partitions = backupPartitions
	cfg.Backup.ForegroundP99 = func() time.Duration { return 0 }
}

// takeBackup backs c up as chorus backup does: every partition from the
// nodes in turn, into one stream. It checks that every partition came from
// every replica.
func takeBackup(t *testing.T, c *testCluster) []byte {
	t.Helper()
	var file bytes.Buffer
	w, err := backup.NewWriter(&file, backup.Header{CreatedAt: time.Now(), Partitions: backupPartitions, Replicas: 3,
		Members: c.IDs, Source: "test"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for p := range backupPartitions {
		node := c.IDs[p%len(c.IDs)]
		rec := server.DoHTTP(t, c.Nodes[node].BackupHTTPHandler(), "GET", fmt.Sprintf("/v1/admin/backup/partitions/%d", p), nil, nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != server.BackupContentType {
			t.Fatalf("partition %d from %s: %d %s", p, node, rec.Code, rec.Body)
		}
		r, err := backup.NewReader(rec.Body)
		if err != nil {
			t.Fatalf("partition %d: %v", p, err)
		}
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("partition %d: %v", p, err)
			}
			if err := w.Add(rec.Key, rec.Set); err != nil {
				t.Fatal(err)
			}
		}
		parts := r.Partitions()
		if len(parts) != 1 || parts[0].Partition != uint32(p) || parts[0].Read != 3 || parts[0].Asked != 3 {
			t.Fatalf("partition %d: partition blocks %+v, want one read from all 3 replicas", p, parts)
		}
		if err := w.EndPartition(parts[0]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return file.Bytes()
}

// restoreFile sends file to node in batches of batch keys, as chorus
// restore does, and sums the answers.
func restoreFile(t *testing.T, c *testCluster, node string, file []byte, query string, batch int) server.RestoreResult {
	t.Helper()
	r, err := backup.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var sum server.RestoreResult
	var recs []backup.Record
	send := func() {
		if len(recs) == 0 {
			return
		}
		res := postBatch(t, c, node, query, batchStream(t, recs))
		sum.Keys += res.Keys
		sum.Applied += res.Applied
		sum.Failed += res.Failed
		sum.New += res.New
		sum.Adds += res.Adds
		sum.Covered += res.Covered
		sum.Clashes += res.Clashes
		sum.Failures = append(sum.Failures, res.Failures...)
		recs = recs[:0]
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if recs = append(recs, rec); len(recs) == batch {
			send()
		}
	}
	send()
	return sum
}

func batchStream(t *testing.T, recs []backup.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := backup.NewWriter(&buf, backup.Header{Source: "test batch"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Add(r.Key, r.Set); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func postBatch(t *testing.T, c *testCluster, node, query string, body []byte) server.RestoreResult {
	t.Helper()
	rec := server.DoHTTP(t, c.Nodes[node].BackupHTTPHandler(), "POST", "/v1/admin/restore"+query, bytes.NewReader(body), nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("restore batch: %d %s", rec.Code, rec.Body)
	}
	var res server.RestoreResult
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// merged is the Sync of every replica's copy of key.
func merged(t *testing.T, c *testCluster, key string) vclock.Set {
	t.Helper()
	sets, err := c.ReplicaSets(ctxT(t), key)
	if err != nil {
		t.Fatal(err)
	}
	var s vclock.Set
	for _, x := range sets {
		s = vclock.Sync(s, x)
	}
	return s
}

// TestBackupWhileWritingRestoresIntoWipedCluster: a backup taken while
// writers run, restored into a cluster of fresh nodes, brings back every
// key acknowledged before the backup began, siblings and tombstones
// included, and a second restore changes nothing.
func TestBackupWhileWritingRestoresIntoWipedCluster(t *testing.T) {
	ids := []string{"node0", "node1", "node2"}
	c := newTestClusterWith(t, 1, smallRing, ids...)
	const keys = 120
	for i := range keys {
		k := fmt.Sprintf("k%03d", i)
		put, err := c.put(ids[i%3], k, "v"+k, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i%5 == 0: // a concurrent write: two siblings
			_, err = c.put(ids[(i+1)%3], k, "w"+k, "", nil)
		case i%7 == 0:
			_, err = c.del(ids[i%3], k, put.Context, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]vclock.Set{}
	for i := range keys {
		k := fmt.Sprintf("k%03d", i)
		want[k] = merged(t, c, k)
	}
	// Writers run through the backup; their keys may or may not be in it.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var live atomic.Int64
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.put(ids[w], fmt.Sprintf("live-%d-%d", w, i), "x", "", nil); err == nil {
					live.Add(1)
				}
				if i%10 == 0 { // and some of the keys backed up change too
					c.put(ids[w], fmt.Sprintf("k%03d", i%keys), "during", "", nil)
				}
			}
		}()
	}
	file := takeBackup(t, c)
	close(stop)
	wg.Wait()
	sum, err := backup.Verify(bytes.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Keys < keys || len(sum.Partitions) != backupPartitions {
		t.Fatalf("backup holds %d keys in %d partitions, want at least %d in %d", sum.Keys, len(sum.Partitions), keys, backupPartitions)
	}
	t.Logf("backup: %d keys, %d bytes, %d live writes ran beside it", sum.Keys, sum.Bytes, live.Load())

	fresh := newTestClusterWith(t, 2, smallRing, ids...)
	dry := restoreFile(t, fresh, "node1", file, "?dry_run=true", 25)
	if dry.New != int(sum.Keys) || dry.Failed != 0 || dry.Applied != 0 {
		t.Fatalf("dry run into an empty cluster: %+v, want all %d keys new", dry, sum.Keys)
	}
	if s := merged(t, fresh, "k000"); !s.IsEmpty() {
		t.Fatalf("a dry run wrote: k000 = %v", s)
	}
	res := restoreFile(t, fresh, "node2", file, "", 25)
	if res.Applied != int(sum.Keys) || res.Failed != 0 {
		t.Fatalf("restore: %+v, want %d applied", res, sum.Keys)
	}
	for k, w := range want {
		got := merged(t, fresh, k)
		if backup.Classify(got, w) != backup.Covered {
			t.Errorf("%s after restore: %v, does not cover the acknowledged %v", k, got, w)
		}
	}
	if g, err := fresh.get("node0", "k007", nil); err != nil || g.Found {
		t.Errorf("deleted k007 after restore: found=%v %v, want deleted", g.GetFound(), err)
	}
	if g, err := fresh.get("node0", "k005", nil); err != nil || len(g.Siblings) < 2 {
		t.Errorf("k005 after restore: %v %v, want its two concurrent values", g, err)
	}
	again := restoreFile(t, fresh, "node0", file, "?dry_run=1", 1000)
	if again.Covered != int(sum.Keys) {
		t.Errorf("dry run after the restore: %+v, want every key covered", again)
	}
}

// TestRestoreKeepsNewerAndConcurrentWrites: restoring into a cluster that
// moved on keeps its newer values and deletes, and keeps concurrent
// values beside the backup's as siblings; a dry run says so beforehand,
// and spots a dot minted twice by nodes that kept their IDs.
func TestRestoreKeepsNewerAndConcurrentWrites(t *testing.T) {
	a := newTestClusterWith(t, 3, smallRing, "a0", "a1", "a2")
	first := func(c *testCluster, key string) string { return c.Primaries(key)[0] }
	ctxs := map[string]string{}
	for _, k := range []string{"over", "del", "conc"} {
		put, err := a.put(first(a, k), k, "old-"+k, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		ctxs[k] = put.Context
	}
	file := takeBackup(t, a)
	if _, err := a.put(first(a, "over"), "over", "new", ctxs["over"], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.del(first(a, "del"), "del", ctxs["del"], nil); err != nil {
		t.Fatal(err)
	}
	if dry := restoreFile(t, a, "a1", file, "?dry_run=true", 10); dry.Covered != 3 || dry.Adds+dry.New+dry.Failed != 0 {
		t.Fatalf("dry run into the cluster that moved on: %+v, want 3 covered", dry)
	}
	if res := restoreFile(t, a, "a1", file, "", 10); res.Applied != 3 {
		t.Fatalf("restore: %+v", res)
	}
	if g, err := a.get("a0", "over", nil); err != nil || len(g.Siblings) != 1 || string(g.Siblings[0].Value) != "new" {
		t.Errorf("over after restore: %v %v, want only the newer value", g, err)
	}
	if g, err := a.get("a0", "del", nil); err != nil || g.Found {
		t.Errorf("del after restore: %v %v, want still deleted", g, err)
	}

	b := newTestClusterWith(t, 4, smallRing, "b0", "b1", "b2")
	if _, err := b.put(first(b, "conc"), "conc", "b-conc", "", nil); err != nil {
		t.Fatal(err)
	}
	dry := restoreFile(t, b, "b0", file, "?dry_run=true", 10)
	if dry.Adds != 1 || dry.New != 2 {
		t.Fatalf("dry run into another cluster: %+v, want 1 adds, 2 new", dry)
	}
	if res := restoreFile(t, b, "b0", file, "", 10); res.Applied != 3 {
		t.Fatalf("restore: %+v", res)
	}
	g, err := b.get("b1", "conc", nil)
	if err != nil || len(g.Siblings) != 2 {
		t.Fatalf("conc after restore: %v %v, want both values as siblings", g, err)
	}

	// Nodes wiped with their IDs kept mint the backup's dots again.
	w := newTestClusterWith(t, 5, smallRing, "a0", "a1", "a2")
	if _, err := w.put(first(w, "conc"), "conc", "reused", "", nil); err != nil {
		t.Fatal(err)
	}
	if dry := restoreFile(t, w, "a0", file, "?dry_run=true", 10); dry.Clashes != 1 {
		t.Errorf("dry run into wiped nodes that took a write: %+v, want 1 clash", dry)
	}
}

// TestRestoreRefusesDamagedBatches: a batch with a flipped byte, cut
// short or not a backup at all is refused with a 400 naming the byte, and
// nothing of it is written.
func TestRestoreRefusesDamagedBatches(t *testing.T) {
	c := newTestClusterWith(t, 6, smallRing, "node0", "node1", "node2")
	var recs []backup.Record
	for i := range 50 {
		recs = append(recs, backup.Record{Key: []byte(fmt.Sprintf("r%02d", i)), Set: vclock.NewSet("x", vclock.Value{Data: []byte("v")})})
	}
	good := batchStream(t, recs)
	flipped := bytes.Clone(good)
	flipped[len(flipped)-40] ^= 0x20
	h := c.Nodes["node0"].BackupHTTPHandler()
	for name, body := range map[string][]byte{
		"flipped byte": flipped, "truncated": good[:len(good)-3], "not a backup": []byte("hello"),
		"trailing byte": append(bytes.Clone(good), 0),
	} {
		rec := server.DoHTTP(t, h, "POST", "/v1/admin/restore", bytes.NewReader(body), nil)
		msg := server.ErrorOf(t, rec)
		if rec.Code != http.StatusBadRequest || !strings.Contains(msg, "at byte") || !strings.Contains(msg, "nothing applied") {
			t.Errorf("%s: %d %q, want 400 naming the byte", name, rec.Code, msg)
		}
	}
	for _, r := range recs {
		if s := merged(t, c, string(r.Key)); !s.IsEmpty() {
			t.Fatalf("%s written by a refused batch: %v", r.Key, s)
		}
	}
	if res := postBatch(t, c, "node0", "?w=3", good); res.Applied != 50 {
		t.Fatalf("the intact batch: %+v", res)
	}
}

func TestBackupEndpointsRefuseBadInput(t *testing.T) {
	c := newTestClusterWith(t, 7, func(cfg *server.Config) {
		smallRing(cfg)
		cfg.Backup.MaxRestoreBytes = 1 << 10
	}, "node0", "node1", "node2")
	h := c.Nodes["node0"].BackupHTTPHandler()
	big := batchStream(t, []backup.Record{{Key: []byte("k"), Set: vclock.NewSet("x", vclock.Value{Data: make([]byte, 2<<10)})}})
	for _, tc := range []struct {
		method, target string
		body           []byte
		code           int
		msg            string
	}{
		{"GET", "/v1/admin/backup/partitions/x", nil, 400, "want a number from 0 to 15"},
		{"GET", "/v1/admin/backup/partitions/16", nil, 400, "want a number from 0 to 15"},
		{"GET", "/v1/admin/backup/partitions/-1", nil, 400, "want a number"},
		{"POST", "/v1/admin/backup/partitions/1", nil, 405, "not allowed"},
		{"GET", "/v1/admin/restore", nil, 405, "not allowed"},
		{"POST", "/v1/admin/restore?w=4", nil, 400, "w=\"4\": want 1 to n=3"},
		{"POST", "/v1/admin/restore?w=0", nil, 400, "want 1 to n=3"},
		{"POST", "/v1/admin/restore?dry_run=maybe", nil, 400, "dry_run"},
		{"POST", "/v1/admin/restore?nope=1", nil, 400, "unknown parameter"},
		{"POST", "/v1/admin/restore", nil, 400, "truncated at byte 0"},
		{"POST", "/v1/admin/restore", big, 413, "over 1024 bytes"},
	} {
		var body io.Reader
		if tc.body != nil {
			body = bytes.NewReader(tc.body)
		}
		rec := server.DoHTTP(t, h, tc.method, tc.target, body, nil)
		if rec.Code != tc.code || !strings.Contains(server.ErrorOf(t, rec), tc.msg) {
			t.Errorf("%s %s: %d %s, want %d with %q", tc.method, tc.target, rec.Code, rec.Body, tc.code, tc.msg)
		}
	}
}

// TestBackupOfPartitionWithReplicasDown: an isolated node serves the
// partitions it holds from its own copy, saying one replica of three was
// read; a partition none of whose replicas it reaches is a 503; a stream
// whose last replica fails partway ends with the sender's error, never a
// trailer.
func TestBackupOfPartitionWithReplicasDown(t *testing.T) {
	ids := []string{"node0", "node1", "node2", "node3"}
	c := newTestClusterWith(t, 8, func(cfg *server.Config) {
		smallRing(cfg)
		cfg.Backup.PageKeys = 4
	}, ids...)
	for i := range 200 {
		if _, err := c.put(ids[i%4], fmt.Sprintf("k%03d", i), "v", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	rg := c.Nodes["node0"].Ring()
	var held, notHeld int = -1, -1
	for p := range backupPartitions {
		has := false
		for _, n := range rg.Primaries(uint32(p)) {
			has = has || n == "node0"
		}
		if has && held < 0 {
			held = p
		}
		if !has && notHeld < 0 {
			notHeld = p
		}
	}
	if held < 0 || notHeld < 0 {
		t.Fatalf("ring %v: want a partition node0 holds and one it does not", rg)
	}
	c.Net.Partition([]string{"node0"}, []string{"node1", "node2", "node3"})
	h := c.Nodes["node0"].BackupHTTPHandler()
	rec := server.DoHTTP(t, h, "GET", fmt.Sprintf("/v1/admin/backup/partitions/%d", notHeld), nil, nil)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(server.ErrorOf(t, rec), "no replica") {
		t.Errorf("partition %d, no replica reachable: %d %s, want 503", notHeld, rec.Code, rec.Body)
	}
	rec = server.DoHTTP(t, h, "GET", fmt.Sprintf("/v1/admin/backup/partitions/%d", held), nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("partition %d held by node0: %d %s", held, rec.Code, rec.Body)
	}
	r, err := backup.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = r.Next()
	}
	if err != io.EOF || len(r.Partitions()) != 1 || r.Partitions()[0].Read != 1 || r.Partitions()[0].Asked != 3 {
		t.Errorf("partition %d from an isolated replica: %v, %+v; want read from 1 of 3", held, err, r.Partitions())
	}

	// Every replica fails after its first page.
	c.Net.Heal()
	c.Net.Intercept(func(from, to string, msg proto.Message) error {
		if s, ok := msg.(*pb.ScanRequest); ok && len(s.After) > 0 {
			return errors.New("injected: scan refused")
		}
		return nil
	})
	defer c.Net.Intercept(nil)
	// Asked through node0, which holds none of the partition (a replica
	// would read its own copy whole).
	rec = server.DoHTTP(t, h, "GET", fmt.Sprintf("/v1/admin/backup/partitions/%d", notHeld), nil, nil)
	r, err = backup.NewReader(rec.Body)
	if err != nil {
		t.Fatalf("%d: %v", rec.Code, err)
	}
	for err == nil {
		_, err = r.Next()
	}
	var se *backup.SenderError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "every replica failed") {
		t.Errorf("every replica failing partway: %v, want the sender's error", err)
	}
}

// TestBackupScansArePaced: a partition stream over its keys budget waits
// on the node's clock and ends once the clock moves on; while foreground
// p99 is above the bar it waits too, and goes on once p99 falls.
func TestBackupScansArePaced(t *testing.T) {
	fake := clock.NewFake(time.Unix(1700000000, 0))
	var slow atomic.Bool
	c := newTestClusterWith(t, 9, func(cfg *server.Config) {
		smallRing(cfg)
		cfg.Backup.Clock, cfg.Backup.KeysPerSecond, cfg.Backup.PageKeys = fake, 5, 2
		cfg.Backup.ForegroundP99 = func() time.Duration {
			if slow.Load() {
				return time.Second
			}
			return time.Millisecond
		}
	}, "node0", "node1", "node2")
	for i := range 100 {
		if _, err := c.put("node0", fmt.Sprintf("k%03d", i), "v", "", &pb.Quorum{W: 3}); err != nil {
			t.Fatal(err)
		}
	}
	stream := func() (advanced time.Duration, keys int64) {
		t.Helper()
		done := make(chan []byte, 1)
		go func() {
			rec := server.DoHTTP(t, c.Nodes["node0"].BackupHTTPHandler(), "GET", "/v1/admin/backup/partitions/0", nil, nil)
			done <- rec.Body.Bytes()
		}()
		deadline := time.Now().Add(time.Minute) // a bound on a broken test, not a timing
		for time.Now().Before(deadline) {
			select {
			case b := <-done:
				sum, err := backup.Verify(bytes.NewReader(b), nil)
				if err != nil {
					t.Fatal(err)
				}
				return advanced, sum.Keys
			default:
			}
			if fake.Waiters() > 0 {
				fake.Advance(100 * time.Millisecond)
				advanced += 100 * time.Millisecond
				slow.Store(false) // one backoff wait is enough to see
			} else {
				runtime.Gosched()
			}
		}
		t.Fatal("the partition stream did not end")
		return 0, 0
	}
	adv, keys := stream()
	// 3 replicas' copies charged at 5 keys/s, the first 5 free.
	if want := time.Duration(float64(3*keys-5-2*3) / 5 * float64(time.Second)); keys == 0 || adv < want {
		t.Errorf("a stream of %d keys from 3 replicas at 5 keys/s moved on after %v of clock, want at least %v", keys, adv, want)
	}
	slow.Store(true)
	fake.Advance(time.Hour) // refill the bucket: only the backoff waits now
	if adv, _ := stream(); adv == 0 {
		t.Error("with foreground p99 above the bar the stream did not wait")
	}
}
