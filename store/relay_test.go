package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

var all = store.Shard{Index: 0, Count: 1}

func relayAll(c *store.Claim) store.Outcome {
	var out store.Outcome
	for _, r := range c.Rows {
		out.Relayed = append(out.Relayed, store.Relayed{Message: chat.Message{
			ConversationKey: r.ConversationKey, SenderType: chat.SenderCustomer, Kind: r.Kind,
			Body: r.Body, SourceID: r.ID, CreatedAt: r.CreatedAt,
		}})
	}
	return out
}

func claim(t *testing.T, st *store.Store, limit int) *store.Claim {
	t.Helper()
	c, err := st.Claim(context.Background(), all, "test", limit, time.Minute)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return c
}

func historyCount(t *testing.T, db *testdb.DB, sourceID int64) int {
	t.Helper()
	var n int
	if err := db.Raw.QueryRow(`SELECT COUNT(*) FROM chat_messages WHERE source_table = 'message_sync' AND source_id = ?`, sourceID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func rowStatus(t *testing.T, db *testdb.DB, id int64) store.RowStatus {
	t.Helper()
	rs, err := db.Store.Status(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func forEachDialect(t *testing.T, fn func(t *testing.T, db *testdb.DB)) {
	for _, d := range testdb.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, testdb.New(t, d))
		})
	}
}

func TestClaimCommitSequences(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		var ids []int64
		for i := 0; i < 5; i++ {
			ids = append(ids, db.Insert(t, "conv-a", "hello"))
			ids = append(ids, db.Insert(t, "conv-b", "hi"))
		}
		c := claim(t, db.Store, 4)
		if len(c.Rows) != 4 || c.Rows[0].ID != ids[0] {
			t.Fatalf("claimed %d rows starting at %v, want 4 from id %d", len(c.Rows), c.Rows, ids[0])
		}
		msgs, err := db.Store.Commit(ctx, c, relayAll(c))
		if err != nil {
			t.Fatalf("commit: %v", err)
		}
		c2 := claim(t, db.Store, 100)
		if len(c2.Rows) != 6 {
			t.Fatalf("second claim got %d rows, want 6", len(c2.Rows))
		}
		msgs2, err := db.Store.Commit(ctx, c2, relayAll(c2))
		if err != nil {
			t.Fatalf("commit: %v", err)
		}
		seqs := map[string][]int64{}
		for _, m := range append(msgs, msgs2...) {
			if m.ID == 0 {
				t.Errorf("message for row %d has no id", m.SourceID)
			}
			seqs[m.ConversationKey] = append(seqs[m.ConversationKey], m.Seq)
		}
		for key, s := range seqs {
			for i, seq := range s {
				if seq != int64(i+1) {
					t.Fatalf("%s: seqs %v, want 1..%d", key, s, len(s))
				}
			}
		}
		for _, id := range ids {
			if rs := rowStatus(t, db, id); rs.Status != "sent" {
				t.Errorf("row %d is %s, want sent", id, rs.Status)
			}
			if n := historyCount(t, db, id); n != 1 {
				t.Errorf("row %d is %d times in history", id, n)
			}
		}
		if c3 := claim(t, db.Store, 100); len(c3.Rows) != 0 {
			t.Fatalf("claimed %d rows after everything was sent", len(c3.Rows))
		}
	})
}

// A claimer whose rows were taken back (its lock and lease lost while it
// was paused) cannot write its status back, and its history insert rolls
// back with it.
func TestStaleClaimerIsFenced(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		a := db.Insert(t, "conv", "one")
		b := db.Insert(t, "conv", "two")
		stale := claim(t, db.Store, 10)
		if n, err := db.Store.TakeBack(ctx, all, store.AllProcessing); err != nil || n != 2 {
			t.Fatalf("take back: %d rows, %v; want 2", n, err)
		}
		fresh := claim(t, db.Store, 10)
		if len(fresh.Rows) != 2 || fresh.Token == stale.Token {
			t.Fatalf("new holder claimed %d rows", len(fresh.Rows))
		}
		if _, err := db.Store.Commit(ctx, stale, relayAll(stale)); !errors.Is(err, store.ErrClaimLost) {
			t.Fatalf("stale commit: got %v, want ErrClaimLost", err)
		}
		if _, err := db.Store.Commit(ctx, stale, store.Outcome{Failed: []store.Failed{{ID: a, Reason: "stale"}}}); !errors.Is(err, store.ErrClaimLost) {
			t.Fatalf("stale failure write-back: got %v, want ErrClaimLost", err)
		}
		for _, id := range []int64{a, b} {
			if n := historyCount(t, db, id); n != 0 {
				t.Fatalf("stale claimer left row %d in history %d times", id, n)
			}
			if rs := rowStatus(t, db, id); rs.Status != "processing" || rs.Attempts != 1 {
				t.Fatalf("row %d: %+v, want processing under the new claim with 1 attempt counted", id, rs)
			}
		}
		if _, err := db.Store.Commit(ctx, fresh, relayAll(fresh)); err != nil {
			t.Fatalf("new holder's commit: %v", err)
		}
		for _, id := range []int64{a, b} {
			if n := historyCount(t, db, id); n != 1 {
				t.Fatalf("row %d in history %d times, want 1", id, n)
			}
		}
	})
}

// A row whose transaction commits after higher ids were relayed is still
// relayed: work is found by status, not by an id high-water mark.
func TestLateCommittedRowIsRelayed(t *testing.T) {
	db := testdb.New(t, "mysql") // SQLite has one writer: no transaction can stay open beside the relay
	ctx := context.Background()
	tx, err := db.Raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tx.Exec(`INSERT INTO message_sync (conversation_key, body) VALUES ('late', 'I commit late')`)
	if err != nil {
		t.Fatal(err)
	}
	late, _ := res.LastInsertId()
	later := db.Insert(t, "other", "I commit first")
	if later <= late {
		t.Fatalf("ids: late %d, later %d", late, later)
	}
	c := claim(t, db.Store, 10)
	if len(c.Rows) != 1 || c.Rows[0].ID != later {
		t.Fatalf("claimed %+v, want only row %d", c.Rows, later)
	}
	if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c = claim(t, db.Store, 10)
	if len(c.Rows) != 1 || c.Rows[0].ID != late {
		t.Fatalf("claimed %+v after the late commit, want row %d", c.Rows, late)
	}
	if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
		t.Fatal(err)
	}
	if rs := rowStatus(t, db, late); rs.Status != "sent" {
		t.Fatalf("late row is %s", rs.Status)
	}
}

// A row waiting for its retry holds back the later rows of its
// conversation, and only of its conversation.
func TestRetryHoldsBackConversation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		first := db.Insert(t, "conv", "first")
		c := claim(t, db.Store, 10)
		if _, err := db.Store.Commit(ctx, c, store.Outcome{Retry: []store.Retry{{ID: first, At: time.Now().Add(time.Hour), Reason: "boom"}}}); err != nil {
			t.Fatal(err)
		}
		second := db.Insert(t, "conv", "second")
		other := db.Insert(t, "elsewhere", "go ahead")
		c = claim(t, db.Store, 10)
		if len(c.Rows) != 1 || c.Rows[0].ID != other {
			t.Fatalf("claimed %+v, want only row %d (row %d must wait behind %d)", c.Rows, other, second, first)
		}
		rs := rowStatus(t, db, first)
		if rs.Status != "pending" || rs.Attempts != 1 || rs.LastError != "boom" {
			t.Fatalf("retried row: %+v", rs)
		}
		// Once due, the retried row comes first, then the one behind it.
		if _, err := db.Raw.Exec(`UPDATE message_sync SET next_attempt_at = ? WHERE id = ?`, "2000-01-01 00:00:00", first); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
			t.Fatal(err)
		}
		c = claim(t, db.Store, 10)
		if len(c.Rows) != 2 || c.Rows[0].ID != first || c.Rows[1].ID != second {
			t.Fatalf("claimed %+v, want rows %d then %d", c.Rows, first, second)
		}
	})
}

func TestFailedAndReleasedRows(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		bad := db.Insert(t, "conv", "bad")
		held := db.Insert(t, "conv", "held")
		c := claim(t, db.Store, 10)
		if _, err := db.Store.Commit(ctx, c, store.Outcome{
			Failed:  []store.Failed{{ID: bad, Reason: "invalid row: body is empty"}},
			Release: []int64{held},
		}); err != nil {
			t.Fatal(err)
		}
		if rs := rowStatus(t, db, bad); rs.Status != "failed" || rs.LastError != "invalid row: body is empty" {
			t.Fatalf("failed row: %+v", rs)
		}
		if rs := rowStatus(t, db, held); rs.Status != "pending" || rs.Attempts != 0 {
			t.Fatalf("released row: %+v", rs)
		}
		n, err := db.Store.Requeue(ctx, store.RequeueFilter{ErrorContains: "body is empty"})
		if err != nil || n != 1 {
			t.Fatalf("requeue: %d, %v", n, err)
		}
		if rs := rowStatus(t, db, bad); rs.Status != "pending" {
			t.Fatalf("requeued row: %+v", rs)
		}
	})
}

func TestBotReplyInSameTransaction(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		id := db.Insert(t, "conv", "where is my order")
		c := claim(t, db.Store, 10)
		out := relayAll(c)
		out.Relayed[0].Message.Intent = "order_status"
		out.Relayed[0].Message.Confidence = 0.93
		out.Relayed[0].AutoReply = "You can track it under My orders."
		msgs, err := db.Store.Commit(ctx, c, out)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || msgs[0].Seq != 1 || msgs[1].Seq != 2 || msgs[1].SenderType != chat.SenderBot {
			t.Fatalf("messages: %+v", msgs)
		}
		var body, status, author string
		var inReplyTo, chatID int64
		if err := db.Raw.QueryRow(`SELECT body, status, author_type, in_reply_to, chat_message_id FROM message_reply WHERE conversation_key = 'conv'`).
			Scan(&body, &status, &author, &inReplyTo, &chatID); err != nil {
			t.Fatal(err)
		}
		if body != out.Relayed[0].AutoReply || status != "pending" || author != "bot" || inReplyTo != id || chatID != msgs[1].ID {
			t.Fatalf("message_reply: %q %s %s %d %d", body, status, author, inReplyTo, chatID)
		}
		var intent string
		var conf float64
		if err := db.Raw.QueryRow(`SELECT intent, confidence FROM chat_messages WHERE source_table = 'message_sync' AND source_id = ?`, id).Scan(&intent, &conf); err != nil {
			t.Fatal(err)
		}
		if intent != "order_status" || conf < 0.92 || conf > 0.94 {
			t.Fatalf("intent %q confidence %v", intent, conf)
		}
		var waiting *string
		if err := db.Raw.QueryRow(`SELECT waiting_since FROM conversations WHERE conversation_key = 'conv'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting != nil {
			t.Fatalf("conversation answered by the bot still waits since %s", *waiting)
		}
	})
}

func TestLeaseExpiredTakeBack(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		id := db.Insert(t, "conv", "x")
		if _, err := db.Store.Claim(ctx, all, "crashed", 10, time.Minute); err != nil {
			t.Fatal(err)
		}
		if n, _ := db.Store.TakeBack(ctx, all, store.LeaseExpired); n != 0 {
			t.Fatalf("took back %d rows whose lease runs", n)
		}
		if _, err := db.Raw.Exec(`UPDATE message_sync SET lease_until = ? WHERE id = ?`, "2000-01-01 00:00:00", id); err != nil {
			t.Fatal(err)
		}
		if n, err := db.Store.TakeBack(ctx, all, store.LeaseExpired); err != nil || n != 1 {
			t.Fatalf("take back expired lease: %d, %v", n, err)
		}
		rs := rowStatus(t, db, id)
		if rs.Status != "pending" || rs.Attempts != 1 || rs.LastError != "claim abandoned by crashed" {
			t.Fatalf("row after take-back: %+v", rs)
		}
	})
}

func TestSettingIsGeneratedOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		n := 0
		gen := func() (string, error) { n++; return fmt.Sprintf("secret-%d", n), nil }
		a, err := db.Store.Setting(ctx, "console.session_secret", gen)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.Store.Setting(ctx, "console.session_secret", gen)
		if err != nil {
			t.Fatal(err)
		}
		if a != "secret-1" || b != a {
			t.Fatalf("got %q then %q", a, b)
		}
	})
}
