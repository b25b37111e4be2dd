package chatstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// A private note takes the next seq and is in the history as kind note,
// but message_reply stays untouched, the customer still waits, nobody is
// assigned, a retry writes it once, and it cannot be labelled.
func TestNoteStaysPrivate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		chatstoretest.Relay(t, b.db, "order-9", "where is my parcel?")
		before, err := b.store.Conversation(b.ctx, "order-9", "alice")
		if err != nil {
			t.Fatal(err)
		}
		note := chatcore.Reply{ConversationKey: "order-9", Author: "alice", Body: "VIP customer, be kind", ClientID: "n-1", At: time.Now()}
		res, err := b.store.AppendNote(b.ctx, note)
		if err != nil {
			t.Fatal(err)
		}
		m := res.Message
		if !res.Created || res.Took || m.Seq != 2 || m.Kind != chat.KindNote || m.SenderType != chat.SenderAgent || m.SenderName != "alice" || m.ClientID != "n-1" {
			t.Fatalf("note = %+v (created %v took %v)", m, res.Created, res.Took)
		}
		again, err := b.store.AppendNote(b.ctx, note)
		if err != nil || again.Created || again.Message.ID != m.ID {
			t.Fatalf("retry: %+v, %v; want the first note, not created", again, err)
		}
		if _, err := b.store.AppendNote(b.ctx, chatcore.Reply{ConversationKey: "nope", Author: "alice", Body: "x", ClientID: "n-2", At: time.Now()}); !errors.Is(err, chatcore.ErrNotFound) {
			t.Errorf("note on a missing conversation: %v, want ErrNotFound", err)
		}

		var replies int64
		if err := b.db.Raw(`SELECT COUNT(*) FROM message_reply`).Row().Scan(&replies); err != nil || replies != 0 {
			t.Errorf("message_reply holds %d rows (%v) after a note, want none", replies, err)
		}
		after, err := b.store.Conversation(b.ctx, "order-9", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if after.LastSeq != 2 || after.ReadSeq != 2 || after.Assignee != "" || after.AnsweredBy != "" ||
			!after.WaitingSince.Equal(before.WaitingSince) || after.WaitingSince.IsZero() || !after.LastMessageAt.Equal(before.LastMessageAt) {
			t.Errorf("conversation after a note = %+v; before %+v: want seq 2, read 2, still waiting and unassigned", after, before)
		}
		msgs, err := b.store.Messages(b.ctx, chatcore.MessageQuery{ConversationKey: "order-9", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || msgs[1].Kind != chat.KindNote || msgs[1].Body != note.Body {
			t.Fatalf("history = %+v", msgs)
		}
		_, err = b.store.LabelMessage(b.ctx, chatcore.Label{ConversationKey: "order-9", MessageID: m.ID, Intent: "refund", LabelledBy: "alice", LabelledAt: time.Now()})
		if !errors.Is(err, chatcore.ErrNotLabellable) {
			t.Errorf("label a note: %v, want ErrNotLabellable", err)
		}
		// A reply after the note still answers the customer.
		if _, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "order-9", Author: "alice", Body: "on its way", ClientID: "r-1", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := b.db.Raw(`SELECT COUNT(*) FROM message_reply`).Row().Scan(&replies); err != nil || replies != 1 {
			t.Errorf("message_reply holds %d rows (%v) after a note and a reply, want 1", replies, err)
		}
	})
}
