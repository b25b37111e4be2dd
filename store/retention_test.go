package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// retentionBundle is a database holding rows of every status on both
// sides of a horizon.
type retentionBundle struct {
	db      *testdb.DB
	horizon time.Time
	at      func(time.Time) any // binds a time as the dialect compares it
	old     time.Time
	recent  time.Time
}

func setupRetention(t *testing.T, db *testdb.DB) *retentionBundle {
	now := time.Now().UTC()
	b := &retentionBundle{db: db, horizon: now.Add(-24 * time.Hour), old: now.Add(-72 * time.Hour), recent: now.Add(-time.Hour)}
	sqlite := db.Store.Dialect() == "sqlite"
	b.at = func(t time.Time) any { return dbtime.Arg(sqlite, t) }
	return b
}

// row inserts a message_sync row and sets its status and processed_at.
func (b *retentionBundle) row(t *testing.T, key, status string, processed time.Time) int64 {
	t.Helper()
	id := b.db.Insert(t, key, fmt.Sprintf("%s %s %d", key, status, processed.UnixNano()))
	var at any
	if !processed.IsZero() {
		at = b.at(processed)
	}
	exec(t, b.db, `UPDATE message_sync SET status = ?, processed_at = ? WHERE id = ?`, status, at, id)
	return id
}

func (b *retentionBundle) reply(t *testing.T, key, status string, done time.Time) int64 {
	t.Helper()
	body := fmt.Sprintf("reply %s %s %d", key, status, done.UnixNano())
	exec(t, b.db, `INSERT INTO message_reply (conversation_key, body, status, author_type, author_name, done_at) VALUES (?, ?, ?, 'agent', 'ann', ?)`,
		key, body, status, b.at(done))
	return b.id(t, `SELECT id FROM message_reply WHERE body = ?`, body)
}

func (b *retentionBundle) conversation(t *testing.T, key string, updated time.Time) int64 {
	t.Helper()
	exec(t, b.db, `INSERT INTO conversations (conversation_key, last_seq, last_message_at, created_at, updated_at) VALUES (?, 10, ?, ?, ?)`,
		key, b.at(updated), b.at(updated), b.at(updated))
	return b.id(t, `SELECT id FROM conversations WHERE conversation_key = ?`, key)
}

// message inserts a chat message; sourceID 0 is one without a source row.
func (b *retentionBundle) message(t *testing.T, key string, seq int, created time.Time, sourceID int64) int64 {
	t.Helper()
	var table, source any
	if sourceID != 0 {
		table, source = "message_sync", sourceID
	}
	exec(t, b.db, `INSERT INTO chat_messages (conversation_key, seq, sender_type, body, source_table, source_id, created_at) VALUES (?, ?, 'customer', 'hi', ?, ?, ?)`,
		key, seq, table, source, b.at(created))
	return b.id(t, `SELECT id FROM chat_messages WHERE conversation_key = ? AND seq = ?`, key, seq)
}

func (b *retentionBundle) id(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := b.db.Raw.QueryRow(q, args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return id
}

func (b *retentionBundle) exists(t *testing.T, table string, id int64) bool {
	t.Helper()
	var n int
	if err := b.db.Raw.QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// purgeAll runs batches of limit until one deletes nothing, and returns
// each batch's count.
func (b *retentionBundle) purgeAll(t *testing.T, e store.Expired, limit int) []int64 {
	t.Helper()
	var batches []int64
	for range 100 {
		n, err := b.db.Store.PurgeBatch(context.Background(), e, b.horizon, limit)
		if err != nil {
			t.Fatalf("purge %s: %v", e, err)
		}
		if n > int64(limit) {
			t.Fatalf("purge %s: a batch of %d deleted %d", e, limit, n)
		}
		if n == 0 {
			return batches
		}
		batches = append(batches, n)
	}
	t.Fatalf("purge %s never ends", e)
	return nil
}

// Retention deletes sent and failed rows older than the horizon, in
// batches of at most the limit, and never a pending or processing row,
// whatever its processed_at says (a row set back by hand keeps it).
func TestPurgeMessageSync(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		b := setupRetention(t, db)
		var sentOld []int64
		for i := range 5 {
			sentOld = append(sentOld, b.row(t, fmt.Sprintf("k%d", i), "sent", b.old.Add(time.Duration(i)*time.Minute)))
		}
		keep := map[string]int64{
			"sent recently":          b.row(t, "k", "sent", b.recent),
			"failed (its own kind)":  b.row(t, "k", "failed", b.old),
			"pending, processed old": b.row(t, "k", "pending", b.old),
			"processing, old":        b.row(t, "k", "processing", b.old),
			"pending":                b.row(t, "k", "pending", time.Time{}),
		}
		newest := b.row(t, "k", "sent", b.old)
		keep["the newest row, though sent long ago"] = newest

		p, err := db.Store.PreviewPurge(context.Background(), store.SentRows, b.horizon)
		if err != nil {
			t.Fatal(err)
		}
		if p.Rows != 5 || !p.Oldest.Equal(b.old.Truncate(time.Microsecond)) || !p.Newest.Equal(b.old.Add(4*time.Minute).Truncate(time.Microsecond)) {
			t.Errorf("preview %+v; want 5 rows from %s to %s", p, b.old, b.old.Add(4*time.Minute))
		}
		if got := b.purgeAll(t, store.SentRows, 2); fmt.Sprint(got) != "[2 2 1]" {
			t.Errorf("batches %v, want [2 2 1]", got)
		}
		for _, id := range sentOld {
			if b.exists(t, "message_sync", id) {
				t.Errorf("expired sent row %d is still there", id)
			}
		}
		for what, id := range keep {
			if !b.exists(t, "message_sync", id) {
				t.Errorf("%s (row %d) was deleted", what, id)
			}
		}

		failedNew := b.row(t, "k", "failed", b.recent)
		if got := b.purgeAll(t, store.FailedRows, 10); fmt.Sprint(got) != "[1]" {
			t.Errorf("failed batches %v, want [1]", got)
		}
		if b.exists(t, "message_sync", keep["failed (its own kind)"]) || !b.exists(t, "message_sync", failedNew) {
			t.Error("failed rows: want the old one gone and the recent one kept")
		}
		for _, what := range []string{"pending, processed old", "processing, old", "pending", "sent recently"} {
			if !b.exists(t, "message_sync", keep[what]) {
				t.Errorf("%s was deleted by the failed rows' pass", what)
			}
		}
	})
}

// Replies go once the legacy application marked them done long enough
// ago; a pending reply stays however old.
func TestPurgeRepliesDone(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		b := setupRetention(t, db)
		var old []int64
		for range 3 {
			old = append(old, b.reply(t, "k", "done", b.old))
		}
		recent := b.reply(t, "k", "done", b.recent)
		pending := b.reply(t, "k", "pending", b.old)
		if got := b.purgeAll(t, store.RepliesDone, 2); fmt.Sprint(got) != "[2 1]" {
			t.Errorf("batches %v, want [2 1]", got)
		}
		for _, id := range old {
			if b.exists(t, "message_reply", id) {
				t.Errorf("expired reply %d is still there", id)
			}
		}
		if !b.exists(t, "message_reply", recent) || !b.exists(t, "message_reply", pending) {
			t.Error("a recent or a pending reply was deleted")
		}
	})
}

// History goes by age, except what something still needs: a message an
// agent labelled (the bot's training data) and one whose message_sync row
// is kept (the relay's proof that a row set back to pending was relayed).
// A conversation goes once it is empty and idle, with its read marks;
// one with a reply waiting for the legacy application stays.
func TestPurgeHistory(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		b := setupRetention(t, db)
		src := b.row(t, "c-src", "sent", b.recent)
		exec(t, db, `INSERT INTO message_sync (conversation_key, body) VALUES ('z', 'the newest')`)

		emptied := b.conversation(t, "c-old", b.old)
		gone := []int64{b.message(t, "c-old", 1, b.old, 0), b.message(t, "c-old", 2, b.old.Add(time.Minute), 0)}
		exec(t, db, `INSERT INTO console_reads (username, conversation_key, read_seq) VALUES ('ann', 'c-old', 2)`)

		labelled := b.conversation(t, "c-label", b.old)
		keepLabel := b.message(t, "c-label", 1, b.old, 0)
		exec(t, db, `INSERT INTO chat_labels (message_id, intent, labelled_by) VALUES (?, 'greeting', 'ann')`, keepLabel)

		sourced := b.conversation(t, "c-src", b.old)
		keepSourced := b.message(t, "c-src", 1, b.old, src)

		live := b.conversation(t, "c-live", b.recent)
		keepRecent := b.message(t, "c-live", 1, b.recent, 0)
		goneLive := b.message(t, "c-live", 2, b.old, 0) // old message of a live conversation

		waiting := b.conversation(t, "c-wait", b.old)
		b.reply(t, "c-wait", "pending", b.old)
		idleEmpty := b.conversation(t, "c-idle", b.old)
		touched := b.conversation(t, "c-touched", b.recent)

		p, err := db.Store.PreviewPurge(context.Background(), store.HistoryMessages, b.horizon)
		if err != nil {
			t.Fatal(err)
		}
		if p.Rows != 3 {
			t.Errorf("history preview: %d rows, want 3", p.Rows)
		}
		if got := b.purgeAll(t, store.HistoryMessages, 2); fmt.Sprint(got) != "[2 1]" {
			t.Errorf("history batches %v, want [2 1]", got)
		}
		for _, id := range append(gone, goneLive) {
			if b.exists(t, "chat_messages", id) {
				t.Errorf("expired chat message %d is still there", id)
			}
		}
		for what, id := range map[string]int64{"labelled": keepLabel, "its source row kept": keepSourced, "recent": keepRecent} {
			if !b.exists(t, "chat_messages", id) {
				t.Errorf("the %s message was deleted", what)
			}
		}

		if got := b.purgeAll(t, store.EmptyConversations, 1); fmt.Sprint(got) != "[1 1]" {
			t.Errorf("conversation batches %v, want [1 1]", got)
		}
		for _, id := range []int64{emptied, idleEmpty} {
			if b.exists(t, "conversations", id) {
				t.Errorf("empty idle conversation %d is still there", id)
			}
		}
		for what, id := range map[string]int64{"labelled": labelled, "sourced": sourced, "live": live, "waiting for the legacy app": waiting, "touched lately": touched} {
			if !b.exists(t, "conversations", id) {
				t.Errorf("the %s conversation was deleted", what)
			}
		}
		var reads int
		if err := db.Raw.QueryRow(`SELECT COUNT(*) FROM console_reads WHERE conversation_key = 'c-old'`).Scan(&reads); err != nil {
			t.Fatal(err)
		}
		if reads != 0 {
			t.Error("the read marks of a deleted conversation are left")
		}
	})
}
