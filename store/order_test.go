package store_test

import (
	"context"
	"testing"

	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/testdb"
)

// Rows of a conversation reach history in commit order, and the rows of
// one transaction in id order: two rows inserted in a transaction held
// open come after a later autocommitted row of the same conversation. The
// conversation's last_message_at stays at the newest message's time.
//
// SQLite has one writer: no transaction can stay open beside the relay.
func TestCommitOrderWithinConversation(t *testing.T) {
	forDialects(t, []string{"mysql", "postgres"}, func(t *testing.T, db *testdb.DB) { commitOrderWithinConversation(t, db) })
}

func commitOrderWithinConversation(t *testing.T, db *testdb.DB) {
	ctx := context.Background()
	tx, err := db.Raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	held := db.InsertIn(t, tx, "order-7", "held 1", "held 2")
	auto := db.Insert(t, "order-7", "autocommitted")
	if auto <= held[1] {
		t.Fatalf("ids: held %v, autocommitted %d", held, auto)
	}
	c := claim(t, db.Store, 10)
	if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
		t.Fatal(err)
	}
	first := lastMessageAt(t, db, "order-7")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c = claim(t, db.Store, 10)
	if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
		t.Fatal(err)
	}

	got := testdb.HistorySources(t, db.Raw, "order-7")
	if want := []int64{auto, held[0], held[1]}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("history by seq is rows %v, want %v: commit order, then the transaction's rows by id", got, want)
	}
	if last := lastMessageAt(t, db, "order-7"); !last.Equal(first.Time) {
		t.Errorf("last_message_at went from %v to %v: the late rows were created earlier", first, last)
	}
}

func lastMessageAt(t *testing.T, db *testdb.DB, key string) dbtime.Time {
	t.Helper()
	var at dbtime.Time
	if err := db.Raw.QueryRow(`SELECT last_message_at FROM conversations WHERE conversation_key = ?`, key).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}
