package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// spellings are keys a case-, accent- and pad-insensitive collation calls
// equal in pairs, and syncd calls different: byte for byte.
var spellings = []string{"Order-1001", "order-1001", "order-1002", "order-1002 ", "cafe-1003", "café-1003"}

// Keys are compared byte for byte on both dialects (migration 0006 gives
// MySQL's key columns a binary collation): each spelling is its own
// conversation, in one batch or in several, and its history is under the
// key as written.
func TestKeysAreComparedByteForByte(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		ids := map[string]int64{}
		// One batch holds every spelling; then one row each, one batch at a
		// time, each against a conversation that exists already.
		for _, k := range spellings {
			ids[k] = db.Insert(t, k, "first of "+k)
		}
		c := claim(t, db.Store, 100)
		if len(c.Rows) != len(spellings) {
			t.Fatalf("claimed %d rows, want %d", len(c.Rows), len(spellings))
		}
		if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
			t.Fatalf("commit: %v", err)
		}
		for _, k := range spellings {
			db.Insert(t, k, "second of "+k)
			c := claim(t, db.Store, 100)
			if len(c.Rows) != 1 || c.Rows[0].ConversationKey != k {
				t.Fatalf("claimed %+v, want one row of %q", c.Rows, k)
			}
			if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
				t.Fatalf("commit %q: %v", k, err)
			}
		}
		for _, k := range spellings {
			var n, last int
			if err := db.Raw.QueryRow(`SELECT COUNT(*) FROM conversations WHERE conversation_key = ?`, k).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if err := db.Raw.QueryRow(`SELECT last_seq FROM conversations WHERE conversation_key = ?`, k).Scan(&last); err != nil {
				t.Fatalf("conversation %q: %v", k, err)
			}
			if n != 1 || last != 2 {
				t.Errorf("conversation %q: %d rows, last_seq %d; want its own, with 2 messages", k, n, last)
			}
			var key, body string
			if err := db.Raw.QueryRow(`SELECT conversation_key, body FROM chat_messages WHERE source_id = ?`, ids[k]).Scan(&key, &body); err != nil {
				t.Fatal(err)
			}
			if key != k || body != "first of "+k {
				t.Errorf("row of %q is in history under %q: %q", k, key, body)
			}
		}
		var convs int
		if err := db.Raw.QueryRow(`SELECT COUNT(*) FROM conversations`).Scan(&convs); err != nil {
			t.Fatal(err)
		}
		if convs != len(spellings) {
			t.Errorf("%d conversations, want %d", convs, len(spellings))
		}
	})
}

// Whatever the collation, Go never assumes the database compares keys as
// it does: when the database merges a key of the batch with another
// conversation, Commit writes nothing and names the rows of that key; the
// rest of the batch commits once they are left out.
func TestCommitNamesKeysTheDatabaseMerges(t *testing.T) {
	db := testdb.New(t, "mysql")
	ctx := context.Background()
	db.SetKeyCollation(t, "utf8mb4_unicode_ci") // what a legacy database has by default
	first := db.Insert(t, "Order-1001", "creates the conversation")
	c := claim(t, db.Store, 10)
	if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
		t.Fatal(err)
	}

	innocent := db.Insert(t, "order-2000", "an innocent row")
	variant := db.Insert(t, "order-1001", "same conversation to MariaDB")
	newA := db.Insert(t, "Cafe-3000", "new, and merged in the same batch")
	newB := db.Insert(t, "café-3000", "with this one")
	// New in this batch too: the spelling whose row comes first keeps the
	// conversation, though the upsert inserts "NEW-9" first.
	firstLower := db.Insert(t, "new-9", "first")
	laterUpper := db.Insert(t, "NEW-9", "later")
	c = claim(t, db.Store, 10)
	out := relayAll(c)
	_, err := db.Store.Commit(ctx, c, out)
	var conflict *store.KeyConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("commit: got %v, want a KeyConflictError", err)
	}
	failed := map[int64]string{}
	for _, f := range conflict.Rows {
		failed[f.ID] = f.Reason
	}
	if len(failed) != 3 || failed[variant] == "" || failed[newB] == "" || failed[laterUpper] == "" {
		t.Fatalf("conflict names %v, want rows %d, %d and %d", conflict.Rows, variant, newB, laterUpper)
	}
	if r := failed[laterUpper]; !strings.Contains(r, `"NEW-9" is conversation "new-9"`) {
		t.Errorf("reason %q", r)
	}
	if r := failed[variant]; !strings.Contains(r, `"order-1001"`) || !strings.Contains(r, `"Order-1001"`) || !strings.Contains(r, "byte for byte") {
		t.Errorf("reason %q does not name both keys and the rule", r)
	}
	if n := historyCount(t, db, innocent); n != 0 {
		t.Fatalf("a commit that reported a conflict wrote history")
	}

	// The caller fails those rows and commits the rest.
	var rest store.Outcome
	for _, r := range out.Relayed {
		if failed[r.Message.SourceID] == "" {
			rest.Relayed = append(rest.Relayed, r)
		}
	}
	rest.Failed = conflict.Rows
	if _, err := db.Store.Commit(ctx, c, rest); err != nil {
		t.Fatalf("commit without the merged rows: %v", err)
	}
	for id, want := range map[int64]string{first: "sent", innocent: "sent", newA: "sent", variant: "failed", newB: "failed",
		firstLower: "sent", laterUpper: "failed"} {
		if rs := rowStatus(t, db, id); rs.Status != want || rs.Attempts != 0 {
			t.Errorf("row %d: %+v, want %s with no attempt counted", id, rs, want)
		}
	}
	var last int
	if err := db.Raw.QueryRow(`SELECT last_seq FROM conversations WHERE conversation_key = 'Order-1001'`).Scan(&last); err != nil || last != 1 {
		t.Errorf("Order-1001: last_seq %d (%v), want 1: nothing of order-1001 was counted", last, err)
	}
}
