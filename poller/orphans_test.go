package poller_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/store"
)

// A row left processing with no claim (by hand, or by an older syncd) is
// found by the poller's sweep and relayed, even in a shard that has no
// other work (so the tick's probe never picks the shard).
func TestOrphanedRowIsRelayed(t *testing.T) {
	for _, d := range testdb.AllDialects {
		t.Run(d, func(t *testing.T) {
			b := &bundle{db: testdb.New(t, d)}
			orphan := b.db.Insert(t, "conv-orphan", "left processing by hand")
			if _, err := b.db.Raw.Exec(`UPDATE message_sync SET status = 'processing' WHERE id = ?`, orphan); err != nil {
				t.Fatal(err)
			}
			newPoller(t, b, b.db.Store, lock.NewLocal(), bridge.New(bridge.Options{}), "solo")
			// One sweep of every bucket takes a lease (5s here).
			eventually(t, "the orphaned row to be sent", 30*time.Second, func() bool {
				return countWhere(t, b.db, `SELECT COUNT(*) FROM message_sync WHERE status = 'sent'`) == 1
			})
			checkOrder(t, b.db)
			if n := countWhere(t, b.db, `SELECT attempts FROM message_sync WHERE id = ?`, orphan); n != 0 {
				t.Errorf("orphaned row relayed with %d attempts counted, want none: nothing says it failed", n)
			}
			if n := countWhere(t, b.db, `SELECT COUNT(*) FROM message_sync WHERE id = ? AND last_error = ?`, orphan, store.OrphanSent); n != 1 {
				t.Errorf("orphaned row sent without saying it was returned by the sweep")
			}
			if got := testutil.ToFloat64(b.metrics.Orphaned); got != 1 {
				t.Errorf("syncd_rows_orphaned_total = %v, want 1", got)
			}
		})
	}
}
