package store_test

import (
	"testing"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// With a webhook, retention keeps a done reply until its delivery is
// settled; without one, delivery_status means nothing and it goes.
func TestRetentionKeepsUndeliveredReplies(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		b := setupRetention(t, db)
		ids := map[string]int64{}
		for _, ds := range []string{"pending", "processing", "delivered", "failed"} {
			id := b.reply(t, "k-"+ds, "done", b.old)
			exec(t, db, `UPDATE message_reply SET delivery_status = ? WHERE id = ?`, ds, id)
			ids[ds] = id
		}
		ids["none"] = b.reply(t, "k-none", "done", b.old) // written before 0016
		exec(t, db, `UPDATE message_reply SET delivery_status = NULL WHERE id = ?`, ids["none"])

		db.Store.SetWebhookDelivery(true)
		b.purgeAll(t, store.RepliesDone, 100)
		for ds, id := range ids {
			kept := ds == "pending" || ds == "processing"
			if b.exists(t, "message_reply", id) != kept {
				t.Errorf("with a webhook, a done reply whose delivery is %s: kept %v, want %v", ds, !kept, kept)
			}
		}
		db.Store.SetWebhookDelivery(false)
		b.purgeAll(t, store.RepliesDone, 100)
		for ds, id := range ids {
			if b.exists(t, "message_reply", id) {
				t.Errorf("without a webhook, the done reply whose delivery is %s is still there", ds)
			}
		}
	})
}
