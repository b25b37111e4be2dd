package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// A holder frozen in the middle of its write-back transaction (here: a
// transaction left open, as a stopped process leaves it) is rolled back by
// the server after the hold limit, so the shard's next holder takes its
// rows back instead of waiting 50 s for a lock and failing with Error 1205;
// the frozen holder's late write-back is refused.
// SQLite: one process holds the file.
func TestHoldLimitEndsFrozenTransaction(t *testing.T) {
	forDialects(t, []string{"mysql", "postgres"}, holdLimitEndsFrozenTransaction)
}

func holdLimitEndsFrozenTransaction(t *testing.T, db *testdb.DB) {
	ctx := context.Background()
	open := func() *store.Store {
		st, err := store.Open(ctx, db.Driver, db.DSN, 4, store.HoldLimit(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	frozen, next := open(), open()
	id := db.Insert(t, "conv", "x")
	c, err := frozen.Claim(ctx, all, "frozen", 10, time.Minute)
	if err != nil || len(c.Rows) != 1 {
		t.Fatalf("claim: %v", err)
	}
	// The frozen holder's write-back: the fence has run, COMMIT has not.
	tx, err := frozen.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	fence := `UPDATE message_sync SET status = 'sent' WHERE claim_token = ? AND status = 'processing'`
	if db.Driver == "postgres" {
		fence = strings.Replace(fence, "?", "$1", 1)
	}
	if _, err := tx.Exec(fence, c.Token); err != nil {
		t.Fatal(err)
	}

	tctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	start := time.Now()
	n, err := next.TakeBack(tctx, all, store.AllProcessing)
	took := time.Since(start)
	for err != nil && tctx.Err() == nil {
		// A lock wait the hold limit cut short: the poller tries again.
		t.Logf("take back after %s: %v; again", took.Round(time.Millisecond), err)
		n, err = next.TakeBack(tctx, all, store.AllProcessing)
		took = time.Since(start)
	}
	if err != nil || n != 1 {
		t.Fatalf("take back behind a frozen holder: %d rows after %s, %v; want 1", n, took.Round(time.Millisecond), err)
	}
	t.Logf("took back the frozen holder's row after %s (hold limit 1s)", took.Round(time.Millisecond))
	if err := tx.Commit(); err == nil {
		t.Fatal("the frozen holder's transaction committed after its rows were taken back")
	}
	if _, err := frozen.Commit(ctx, c, relayAll(c)); !errors.Is(err, store.ErrClaimLost) {
		t.Fatalf("the frozen holder's write-back: %v, want ErrClaimLost", err)
	}
	if rs := rowStatus(t, db, id); rs.Status != "pending" || rs.Attempts != 1 {
		t.Fatalf("row after take-back: %+v", rs)
	}
}
