package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// A claim reads only what is within the row limits: a body or payload
// over its limit does not cross the wire (the row carries its size only),
// and the short columns are cut one character past their MySQL width.
func TestClaimReadsWithinLimits(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		db.Store.SetRowLimits(store.RowLimits{MaxBodyBytes: 1000, MaxPayloadBytes: 500})
		big := strings.Repeat("é", 1<<20) // 2 MiB
		bigBody := db.Insert(t, "k", big)
		payload := `{"order_id": "` + strings.Repeat("9", 3<<20) + `"}`
		bigPayload, err := db.Store.Insert(ctx, store.NewRow{ConversationKey: "k", Body: "event", Kind: "order_created", Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		fits, err := db.Store.Insert(ctx, store.NewRow{ConversationKey: "k", Body: strings.Repeat("b", 1000), Payload: `{"a":` + strings.Repeat("1", 490) + `}`})
		if err != nil {
			t.Fatal(err)
		}
		c := claim(t, db.Store, 10)
		if len(c.Rows) != 3 {
			t.Fatalf("claimed %d rows", len(c.Rows))
		}
		got := map[int64]store.Row{}
		for _, r := range c.Rows {
			got[r.ID] = r
		}
		if r := got[bigBody]; r.Body != "" || r.BodyBytes != 2<<20 {
			t.Errorf("oversized body: read %d bytes, size %d; want none read and its size", len(r.Body), r.BodyBytes)
		}
		if r := got[bigPayload]; r.Payload != nil || r.PayloadBytes != len(payload) || r.Body != "event" {
			t.Errorf("oversized payload: read %v, size %d", r.Payload != nil, r.PayloadBytes)
		}
		if r := got[fits]; len(r.Body) != 1000 || r.BodyBytes != 1000 || r.Payload == nil || r.PayloadBytes != 496 {
			t.Errorf("row within the limits: body %d/%d, payload %v/%d", len(r.Body), r.BodyBytes, r.Payload != nil, r.PayloadBytes)
		}
	})
}

// SQLite holds text of any length: a claim does not read a key, sender
// name or kind longer than its MySQL column, and says which it was. What
// it reads it reads whole, a NUL byte included.
func TestClaimSkipsLongShortColumns(t *testing.T) {
	db := testdb.New(t, "sqlite")
	long := strings.Repeat("ä", 100000)
	for _, r := range [][3]string{{long, "s", "message"}, {"k", long, "message"}, {"k", "s", long}, {"k\x00", "s\x00", "message"}} {
		if _, err := db.Raw.Exec(`INSERT INTO message_sync (conversation_key, body, sender_name, kind) VALUES (?, 'b', ?, ?)`, r[0], r[1], r[2]); err != nil {
			t.Fatal(err)
		}
	}
	c := claim(t, db.Store, 10)
	if len(c.Rows) != 4 {
		t.Fatalf("claimed %d rows", len(c.Rows))
	}
	for i, want := range []string{"conversation_key", "sender_name", "kind", ""} {
		if r := c.Rows[i]; r.TooLong != want || len(r.ConversationKey)+len(r.SenderName)+len(r.Kind) > 1000 {
			t.Errorf("row %d: too long %q, read %d+%d+%d bytes; want %q named and not read", i, r.TooLong,
				len(r.ConversationKey), len(r.SenderName), len(r.Kind), want)
		}
	}
	if r := c.Rows[3]; r.ConversationKey != "k\x00" || r.SenderName != "s\x00" {
		t.Errorf("NUL bytes lost: key %q, sender %q", r.ConversationKey, r.SenderName)
	}
}

// A relayed row with a note (why the bot did not answer) is sent, keeps
// the note in last_error, and history keeps it with the message.
func TestNoteStaysWithTheSentRow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		noted := db.Insert(t, "k", "order created")
		plain := db.Insert(t, "k", "hello")
		c := claim(t, db.Store, 10)
		out := relayAll(c)
		const note = "bot did not answer: event template order_created: payload field order_id is null"
		out.Relayed[0].Message.Note = note
		msgs, err := db.Store.Commit(ctx, c, out)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || msgs[0].Note != note || msgs[1].Note != "" {
			t.Fatalf("committed %+v", msgs)
		}
		for id, want := range map[int64]string{noted: note, plain: ""} {
			var status, lastErr, stored string
			if err := db.Raw.QueryRow(`SELECT m.status, COALESCE(m.last_error, ''), COALESCE(c.note, '') FROM message_sync m
JOIN chat_messages c ON c.source_table = 'message_sync' AND c.source_id = m.id WHERE m.id = ?`, id).Scan(&status, &lastErr, &stored); err != nil {
				t.Fatal(err)
			}
			if status != "sent" || lastErr != want || stored != want {
				t.Errorf("row %d: %s, last_error %q, history note %q; want sent with %q", id, status, lastErr, stored, want)
			}
		}
	})
}
