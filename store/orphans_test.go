package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// exec runs a legacy writer's (or an operator's) statement.
func exec(t *testing.T, db *testdb.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Raw.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// A processing row that no claim covers (set by hand, or claimed by a
// syncd older than 0004_claims) is returned to pending once its lease, if
// it has one, has run out; a claim in flight is left alone.
func TestReturnOrphans(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		byHand := db.Insert(t, "conv-a", "set to processing by hand")
		older := db.Insert(t, "conv-b", "claimed by an older syncd")
		leased := db.Insert(t, "conv-c", "claimed by an older syncd that still runs")
		live := db.Insert(t, "conv-d", "claimed by this syncd")
		exec(t, db, `UPDATE message_sync SET status = 'processing' WHERE id = ?`, byHand)
		exec(t, db, `UPDATE message_sync SET status = 'processing', claim_token = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', claimed_by = 'old',
 lease_until = '2000-01-01 00:00:00' WHERE id = ?`, older)
		exec(t, db, `UPDATE message_sync SET status = 'processing', claim_token = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', claimed_by = 'old',
 lease_until = '2037-01-01 00:00:00' WHERE id = ?`, leased) // TIMESTAMP ends in 2038
		inFlight := claim(t, db.Store, 10)
		if len(inFlight.Rows) != 1 || inFlight.Rows[0].ID != live {
			t.Fatalf("claimed %+v, want row %d", inFlight.Rows, live)
		}
		// TakeBack starts from the claims it knows of: it cannot see them.
		if n, err := db.Store.TakeBack(ctx, all, store.LeaseExpired); err != nil || n != 0 {
			t.Fatalf("take back: %d, %v", n, err)
		}

		// Bucket by bucket, so in no particular order of id.
		first, err := db.Store.ReturnOrphans(ctx, all, 1)
		if err != nil || first.Pending != 1 || first.Sent != 0 || len(first.IDs) != 1 {
			t.Fatalf("return orphans, limit 1: %+v %v; want 1 row", first, err)
		}
		rest, err := db.Store.ReturnOrphans(ctx, all, 100)
		if err != nil || rest.Pending != 1 || len(rest.IDs) != 1 {
			t.Fatalf("return orphans: %+v %v; want 1 row", rest, err)
		}
		if got := []int64{first.IDs[0], rest.IDs[0]}; !slices.Contains(got, byHand) || !slices.Contains(got, older) {
			t.Fatalf("returned rows %v, want %d and %d", got, byHand, older)
		}
		for _, id := range []int64{byHand, older} {
			if rs := rowStatus(t, db, id); rs.Status != "pending" || rs.Attempts != 0 || rs.LastError != store.OrphanReason {
				t.Errorf("orphan %d: %+v", id, rs)
			}
		}
		for _, id := range []int64{leased, live} {
			if rs := rowStatus(t, db, id); rs.Status != "processing" {
				t.Errorf("row %d: %+v, want still processing", id, rs)
			}
		}
		// Another shard's buckets hold none of them.
		if o, err := db.Store.ReturnOrphans(ctx, store.Shard{Index: 0, Count: store.Buckets}, 100); err != nil || len(o.IDs) != 0 {
			t.Errorf("bucket 0: returned %+v, %v", o, err)
		}

		exec(t, db, `UPDATE message_sync SET lease_until = '2000-01-01 00:00:00' WHERE id = ?`, leased)
		if o, err := db.Store.ReturnOrphans(ctx, all, 100); err != nil || o.Pending != 1 {
			t.Fatalf("after the lease ran out: %+v, %v", o, err)
		}
		// The claim in flight writes back as usual.
		if _, err := db.Store.Commit(ctx, inFlight, relayAll(inFlight)); err != nil {
			t.Fatalf("commit of the claim in flight: %v", err)
		}
		for c := claim(t, db.Store, 10); len(c.Rows) > 0; c = claim(t, db.Store, 10) {
			if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []int64{byHand, older, leased, live} {
			want := store.OrphanSent // the detour stays on record
			if id == live {
				want = ""
			}
			if rs := rowStatus(t, db, id); rs.Status != "sent" || rs.LastError != want || historyCount(t, db, id) != 1 {
				t.Errorf("row %d: %+v, in history %d times; want sent once, last_error %q", id, rs, historyCount(t, db, id), want)
			}
		}

		// A sent row set back to processing by hand is in history already:
		// it goes back to sent, not to a second relay.
		exec(t, db, `UPDATE message_sync SET status = 'processing' WHERE id = ?`, live)
		if o, err := db.Store.ReturnOrphans(ctx, all, 100); err != nil || o.Sent != 1 || o.Pending != 0 {
			t.Fatalf("a relayed row set back to processing: %+v, %v; want it back to sent", o, err)
		}
		if rs := rowStatus(t, db, live); rs.Status != "sent" || rs.LastError != store.OrphanRelayed || historyCount(t, db, live) != 1 {
			t.Errorf("relayed row set back to processing: %+v, in history %d times", rs, historyCount(t, db, live))
		}
	})
}
