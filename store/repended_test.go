package store_test

import (
	"context"
	"testing"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// A sent row that a legacy app or a DBA sets back to pending (a "retry"
// by hand) is in chat history already: the next claim must not add it
// twice, nor fail the batch it shares with other conversations' rows.
// It goes back to sent with a reason, and the others are relayed.
func TestRependedSentRowNotRelayedTwice(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		first := db.Insert(t, "conv-a", "hello")
		c := claim(t, db.Store, 10)
		if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
			t.Fatalf("first relay: %v", err)
		}
		exec(t, db, `UPDATE message_sync SET status = 'pending' WHERE id = ?`, first)
		other := db.Insert(t, "conv-b", "hi")

		c = claim(t, db.Store, 10)
		_, err := db.Store.Commit(ctx, c, relayAll(c))
		if err != nil {
			t.Fatalf("relay of a batch holding a re-pended sent row: %v", err)
		}
		if n := historyCount(t, db, first); n != 1 {
			t.Errorf("re-pended row is %d times in history, want 1", n)
		}
		if rs := rowStatus(t, db, first); rs.Status != "sent" || rs.LastError != store.RelayedAlready {
			t.Errorf("re-pended row: status %q, last_error %q; want sent, saying it was relayed already", rs.Status, rs.LastError)
		}
		if rs := rowStatus(t, db, other); rs.Status != "sent" || historyCount(t, db, other) != 1 {
			t.Errorf("the other conversation's row: status %q, history %d; want sent, once", rs.Status, historyCount(t, db, other))
		}
	})
}
