package store_test

import (
	"context"
	"testing"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// The console's ops page lists failed rows grouped by reason, most first,
// bounded, and marks those requeue leaves alone unless forced.
func TestFailedReasons(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		requeueFixture(t, db) // one transient and two invalid failures
		extra := db.Insert(t, "conv-extra", "again")
		exec(t, db, `UPDATE message_sync SET status = 'failed', last_error = 'invalid row: payload is not valid JSON' WHERE id = ?`, extra)

		got, err := db.Store.FailedReasons(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("reasons %+v: want 3", got)
		}
		if want := (store.FailedReason{Reason: "invalid row: payload is not valid JSON", Rows: 2, Invalid: true}); got[0] != want {
			t.Errorf("first reason %+v, want %+v", got[0], want)
		}
		for _, r := range got[1:] {
			if r.Rows != 1 {
				t.Errorf("reason %+v: want 1 row", r)
			}
		}
		if got, err := db.Store.FailedReasons(ctx, 1); err != nil || len(got) != 1 {
			t.Errorf("limit 1: %+v, %v", got, err)
		}
	})
}
