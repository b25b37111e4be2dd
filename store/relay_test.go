package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/testdb"
	schema "github.com/syncd-dev/syncd/sql"
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
	forDialects(t, testdb.AllDialects, fn)
}

func forDialects(t *testing.T, dialects []string, fn func(t *testing.T, db *testdb.DB)) {
	for _, d := range dialects {
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
		if len(c.Rows) != 4 {
			t.Fatalf("claimed %d rows, want 4", len(c.Rows))
		}
		assertOldestFirst(t, db, c)
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
		assertStoredAsPublished(t, db, append(msgs, msgs2...))
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

// assertStoredAsPublished checks that each published message's created_at
// is the one history gives back later (DATETIME(6) keeps microseconds).
func assertStoredAsPublished(t *testing.T, db *testdb.DB, msgs []chat.Message) {
	t.Helper()
	for _, m := range msgs {
		var stored dbtime.Time
		if err := db.Raw.QueryRow(`SELECT created_at FROM chat_messages WHERE id = ?`, m.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !stored.Equal(m.CreatedAt) {
			t.Errorf("message %d (%s): published created_at %v, stored %v", m.ID, m.SenderType, m.CreatedAt, stored.Time)
		}
	}
}

// assertOldestFirst checks that a claim holds, for each of its
// conversations, that conversation's oldest unsent rows, in id order.
func assertOldestFirst(t *testing.T, db *testdb.DB, c *store.Claim) {
	t.Helper()
	byConv := map[string][]int64{}
	for _, r := range c.Rows {
		byConv[r.ConversationKey] = append(byConv[r.ConversationKey], r.ID)
	}
	for key, got := range byConv {
		rows, err := db.Raw.Query(`SELECT id FROM message_sync WHERE conversation_key = ? AND status IN ('pending', 'processing') ORDER BY id LIMIT ?`, key, len(got))
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			want = append(want, id)
		}
		rows.Close()
		if !slices.Equal(got, want) {
			t.Fatalf("%s: claimed rows %v, want its oldest %v", key, got, want)
		}
	}
}

// Claims take the shard's oldest due rows by id, across its buckets, as
// the legacy app wrote them; a row far beyond the claims' window of ids
// (the table's ids jumped: a restore, a bulk import with its own ids) is
// found by the same claim, and a row below the window (it committed late)
// by the next one.
func TestClaimsTakeTheShardsOldestRows(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		var ids []int64
		for i := range 45 {
			ids = append(ids, db.Insert(t, fmt.Sprintf("conv-%d", i%7), fmt.Sprintf("row %d", i)))
		}
		// A hole, filled below the window once the rows around it are sent.
		low := ids[2]
		if _, err := db.Raw.Exec(`DELETE FROM message_sync WHERE id = ?`, low); err != nil {
			t.Fatal(err)
		}
		ids = slices.Delete(ids, 2, 3)
		// Far beyond any window: the claim must look past it.
		far := ids[len(ids)-1] + 10_000_000
		if _, err := db.Raw.Exec(`INSERT INTO message_sync (id, conversation_key, body) VALUES (?, 'conv-far', 'far')`, far); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, far)
		for len(ids) > 0 {
			c := claim(t, db.Store, 10)
			assertOldestFirst(t, db, c)
			got := make([]int64, len(c.Rows))
			for i, r := range c.Rows {
				got[i] = r.ID
			}
			want := ids[:min(10, len(ids))]
			if !slices.Equal(got, want) {
				t.Fatalf("claimed %v, want the oldest pending rows %v", got, want)
			}
			ids = ids[len(want):]
			if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
				t.Fatal(err)
			}
		}
		// Below every id claimed so far, as a late commit would be.
		if _, err := db.Raw.Exec(`INSERT INTO message_sync (id, conversation_key, body) VALUES (?, 'conv-low', 'low')`, low); err != nil {
			t.Fatal(err)
		}
		if c := claim(t, db.Store, 10); len(c.Rows) != 1 || c.Rows[0].ID != low {
			t.Fatalf("claimed %+v, want row %d below the window", c.Rows, low)
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
			// A claim of two rows taken back says nothing about either: no
			// attempt counted (TakeBack).
			if rs := rowStatus(t, db, id); rs.Status != "processing" || rs.Attempts != 0 {
				t.Fatalf("row %d: %+v, want processing under the new claim with no attempt counted", id, rs)
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
// SQLite has one writer: no transaction can stay open beside the relay.
func TestLateCommittedRowIsRelayed(t *testing.T) {
	forDialects(t, []string{"mysql", "postgres"}, lateCommittedRowIsRelayed)
}

func lateCommittedRowIsRelayed(t *testing.T, db *testdb.DB) {
	ctx := context.Background()
	tx, err := db.Raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	late := db.InsertIn(t, tx, "late", "I commit late")[0]
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
		res, err := db.Store.Requeue(ctx, store.RequeueFilter{ErrorContains: "body is empty", Force: true})
		if err != nil || res.Failed != 1 {
			t.Fatalf("requeue: %+v, %v", res, err)
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
		assertStoredAsPublished(t, db, msgs)
		var body, status, author, delivery string
		var inReplyTo, chatID int64
		if err := db.Raw.QueryRow(`SELECT body, status, author_type, in_reply_to, chat_message_id, delivery_status FROM message_reply WHERE conversation_key = 'conv'`).
			Scan(&body, &status, &author, &inReplyTo, &chatID, &delivery); err != nil {
			t.Fatal(err)
		}
		// delivery_status 'pending': the webhook worker's to deliver.
		if body != out.Relayed[0].AutoReply || status != "pending" || author != "bot" || inReplyTo != id || chatID != msgs[1].ID || delivery != "pending" {
			t.Fatalf("message_reply: %q %s %s %d %d delivery %s", body, status, author, inReplyTo, chatID, delivery)
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
		// A canned answer that does not resolve leaves the customer on the
		// agents' queue (TestBotReplyLeavesConversationWaiting has the rest).
		if waiting == nil {
			t.Fatal("conversation answered by a canned bot reply no longer waits for an agent")
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
		if n, err := db.Store.TakeBack(ctx, all, store.LeaseExpired); err != nil || n != 0 {
			t.Fatalf("took back %d rows whose lease runs: %v", n, err)
		}
		// Time passes: the claim's lease runs out.
		if _, err := db.Raw.Exec(`UPDATE message_sync_claims SET lease_until = ?`, "2000-01-01 00:00:00"); err != nil {
			t.Fatal(err)
		}
		if n, err := db.Store.TakeBack(ctx, all, store.LeaseExpired); err != nil || n != 1 {
			t.Fatalf("take back expired lease: %d, %v", n, err)
		}
		rs := rowStatus(t, db, id)
		if rs.Status != "pending" || rs.Attempts != 1 || rs.LastError != "claim abandoned by crashed while it held this row alone (counted as an attempt)" {
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

func TestDueShards(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		const count = 256 // more shards than one probe statement asks about
		shardOf := func(id int64) int {
			var bucket int
			if err := db.Raw.QueryRow(`SELECT shard_bucket FROM message_sync WHERE id = ?`, id).Scan(&bucket); err != nil {
				t.Fatal(err)
			}
			return bucket / (store.Buckets / count)
		}
		// Four rows in four different shards.
		var ids []int64
		used := map[int]bool{}
		for i := 0; len(ids) < 4; i++ {
			id := db.Insert(t, fmt.Sprintf("conv-%d", i), "x")
			if s := shardOf(id); !used[s] {
				used[s] = true
				ids = append(ids, id)
			} else if _, err := db.Raw.Exec(`DELETE FROM message_sync WHERE id = ?`, id); err != nil {
				t.Fatal(err)
			}
		}
		due, waiting, processing, sent := ids[0], ids[1], ids[2], ids[3]
		for _, q := range []struct {
			sql string
			id  int64
		}{
			{`UPDATE message_sync SET next_attempt_at = '2037-12-31 00:00:00' WHERE id = ?`, waiting}, // TIMESTAMP ends in 2038
			{`UPDATE message_sync SET status = 'sent' WHERE id = ?`, sent},
		} {
			if _, err := db.Raw.Exec(q.sql, q.id); err != nil {
				t.Fatal(err)
			}
		}
		// A claim in flight, as a holder that died would leave it.
		if c, err := db.Store.Claim(ctx, store.Shard{Index: shardOf(processing), Count: count}, "crashed", 10, time.Minute); err != nil || len(c.Rows) != 1 {
			t.Fatalf("claim the processing row: %v", err)
		}
		everyShard := make([]store.Shard, count)
		for i := range everyShard {
			everyShard[i] = store.Shard{Index: i, Count: count}
		}
		probe := func() []int {
			got, err := db.Store.DueShards(ctx, everyShard)
			if err != nil {
				t.Fatal(err)
			}
			var idx []int
			for _, s := range got {
				idx = append(idx, s.Index)
			}
			slices.Sort(idx)
			return idx
		}
		want := []int{shardOf(due), shardOf(processing)}
		slices.Sort(want)
		if got := probe(); !slices.Equal(got, want) {
			t.Fatalf("due shards %v, want %v (the due row's and the claimed row's)", got, want)
		}

		if _, err := db.Raw.Exec(`UPDATE message_sync SET next_attempt_at = '2000-01-01 00:00:00' WHERE id = ?`, waiting); err != nil {
			t.Fatal(err)
		}
		want = append(want, shardOf(waiting))
		slices.Sort(want)
		if got := probe(); !slices.Equal(got, want) {
			t.Fatalf("after the retry came due: due shards %v, want %v", got, want)
		}

		// Asked about some shards only, it answers about those only.
		some, err := db.Store.DueShards(ctx, []store.Shard{{Index: shardOf(sent), Count: count}, {Index: shardOf(due), Count: count}})
		if err != nil {
			t.Fatal(err)
		}
		if len(some) != 1 || some[0].Index != shardOf(due) {
			t.Fatalf("asked about the sent row's and the due row's shards, got %v", some)
		}
	})
}

func claimEntries(t *testing.T, db *testdb.DB) int {
	t.Helper()
	var n int
	if err := db.Raw.QueryRow(`SELECT COUNT(*) FROM message_sync_claims`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A claim has an entry in message_sync_claims from its UPDATE until the
// write-back of its last row or its take-back.
func TestClaimEntryLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		var ids []int64
		for i := 0; i < 3; i++ {
			ids = append(ids, db.Insert(t, fmt.Sprintf("conv-%d", i), "x"))
		}
		before := time.Now().Add(-time.Second)
		c := claim(t, db.Store, 10)
		if n := claimEntries(t, db); n != 1 {
			t.Fatalf("%d claim entries after a claim", n)
		}
		// Operators see it in `syncd status`.
		cl, err := db.Store.ClaimsInFlight(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(cl) != 1 || cl[0].Token != c.Token || cl[0].ClaimedBy != "test" ||
			cl[0].BucketLo != 0 || cl[0].BucketHi != store.Buckets ||
			cl[0].CreatedAt.Before(before) || !cl[0].LeaseUntil.After(time.Now()) {
			t.Fatalf("claims in flight: %+v", cl)
		}
		part := relayAll(c)
		part.Relayed = part.Relayed[:1]
		if _, err := db.Store.Commit(ctx, c, part); err != nil {
			t.Fatal(err)
		}
		if n := claimEntries(t, db); n != 1 {
			t.Fatalf("%d claim entries with 2 of 3 rows still claimed", n)
		}
		if _, err := db.Store.Commit(ctx, c, store.Outcome{
			Failed: []store.Failed{{ID: ids[1], Reason: "bad"}}, Release: []int64{ids[2]},
		}); err != nil {
			t.Fatal(err)
		}
		if n := claimEntries(t, db); n != 0 {
			t.Fatalf("%d claim entries after every row was written back", n)
		}

		claim(t, db.Store, 10) // the released row, by a holder that dies
		if n, err := db.Store.TakeBack(ctx, all, store.AllProcessing); err != nil || n != 1 {
			t.Fatalf("take back: %d, %v", n, err)
		}
		if n := claimEntries(t, db); n != 0 {
			t.Fatalf("%d claim entries after take-back", n)
		}
	})
}

// Rows an older syncd left processing, which has no claim entries, get one
// when 0004_claims is applied, so they are still taken back.
//
// Not on PostgreSQL: its schema began after 0004, so no older syncd left
// claims there.
func TestClaimsMigrationRecordsClaimsInFlight(t *testing.T) {
	forDialects(t, testdb.Dialects, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		id := db.Insert(t, "conv", "x")
		claim(t, db.Store, 10)
		if _, err := db.Raw.Exec(`DELETE FROM message_sync_claims`); err != nil {
			t.Fatal(err)
		}
		ms, err := schema.Migrations(db.Driver)
		if err != nil {
			t.Fatal(err)
		}
		var backfill string
		for _, m := range ms {
			if m.Name == "0004_claims" {
				stmts := schema.Statements(m.SQL)
				backfill = stmts[len(stmts)-1]
			}
		}
		if !strings.HasPrefix(backfill, "INSERT INTO message_sync_claims") {
			t.Fatalf("0004_claims does not end with its backfill: %q", backfill)
		}
		if _, err := db.Raw.Exec(backfill); err != nil {
			t.Fatalf("backfill: %v", err)
		}
		if n, err := db.Store.TakeBack(ctx, all, store.AllProcessing); err != nil || n != 1 {
			t.Fatalf("take back after the backfill: %d, %v", n, err)
		}
		if rs := rowStatus(t, db, id); rs.Status != "pending" {
			t.Fatalf("row is %s after take-back", rs.Status)
		}
	})
}

// The relay stores the bot's intent and confidence but not a suggestion's
// text, which the console looks up from the intent (NULL). A message the bot
// answered by itself, or for which it had no reply, is stored with an empty
// suggestion, so a later change of threshold cannot put one beside it. The
// live push still carries the suggestion.
func TestSuggestionColumn(t *testing.T) {
	for _, tc := range []struct {
		name, suggestion, autoReply string
		want                        *string // nil: NULL
	}{
		{name: "suggested", suggestion: "Refunds take 5 days."},
		{name: "answered by the bot", autoReply: "It ships in 3 days.", want: new(string)},
		{name: "no reply for the intent", want: new(string)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *testdb.DB) {
				id := db.Insert(t, "conv", "a question")
				c := claim(t, db.Store, 10)
				out := relayAll(c)
				out.Relayed[0].Message.Intent, out.Relayed[0].Message.Confidence = "refund", 0.4
				out.Relayed[0].Message.Suggestion = tc.suggestion
				out.Relayed[0].AutoReply = tc.autoReply
				msgs, err := db.Store.Commit(context.Background(), c, out)
				if err != nil {
					t.Fatal(err)
				}
				if msgs[0].Suggestion != tc.suggestion {
					t.Fatalf("pushed suggestion %q, want %q", msgs[0].Suggestion, tc.suggestion)
				}
				var intent string
				var stored *string
				if err := db.Raw.QueryRow(`SELECT intent, suggestion FROM chat_messages WHERE source_table = 'message_sync' AND source_id = ?`, id).
					Scan(&intent, &stored); err != nil {
					t.Fatal(err)
				}
				if intent != "refund" || (stored == nil) != (tc.want == nil) || (stored != nil && *stored != *tc.want) {
					t.Fatalf("stored intent %q, suggestion %v; want refund and %v", intent, stored, tc.want)
				}
			})
		})
	}
}
