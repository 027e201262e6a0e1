package storage

import (
	"context"
	"testing"

	"github.com/chorusdb/chorus/storage/commitlog"
	"github.com/chorusdb/chorus/storage/vfs"
	"github.com/chorusdb/chorus/vclock"
)

// A group of durable requests whose records a sync already covered (the
// committer appends a batch before it hands the batch's group over, so a
// sync started in between covers it) is answered without another sync;
// one that is not covered gets its sync.
func TestSyncerAnswersCoveredGroupsWithoutSyncing(t *testing.T) {
	db := openMem(t, memLogOptions(vfs.NewCrashableMem()))
	ctx := context.Background()
	if _, _, err := db.Update(ctx, 0, []byte("k"), vclock.Clock{}, "n1", val("v"), true); err != nil {
		t.Fatal(err)
	}
	// The write's answer orders its append and its sync before this.
	covered := db.logEnd
	hand := func(end commitlog.Position) (err error, syncs uint64) {
		t.Helper()
		before := db.Stats().Syncs
		r := &request{ctx: ctx, durable: true, done: make(chan error, 1)}
		db.toSync <- syncGroup{reqs: []*request{r}, end: end}
		err = <-r.done
		return err, db.Stats().Syncs - before
	}
	// Not yet synced: a record appended as the committer would.
	beyond, err := db.log.Append([]byte{recordSet, 1, 'x'})
	if err != nil {
		t.Fatal(err)
	}
	if err, syncs := hand(covered); err != nil || syncs != 0 {
		t.Fatalf("covered group: answered %v after %d syncs, want nil after 0", err, syncs)
	}
	if err, syncs := hand(beyond); err != nil || syncs != 1 {
		t.Fatalf("group past the last sync: answered %v after %d syncs, want nil after 1", err, syncs)
	}
}
