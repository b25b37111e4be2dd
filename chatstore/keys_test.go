package chatstore_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
	"github.com/syncd-dev/syncd/internal/testdb"
)

// Every path that takes a key from a URL uses the key as stored, byte for
// byte: "CONV-1" is not conversation "conv-1", whatever the collation of
// the key columns (syncd's binary one, or a legacy case-insensitive one a
// DBA set).
func TestKeysFromURLsAreExact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dialect, collation string }{
		{"mysql", ""}, {"sqlite", ""}, {"mysql", "utf8mb4_unicode_ci"},
	} {
		t.Run(tc.dialect+" "+tc.collation, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.dialect)
			if tc.collation != "" {
				for _, table := range testdb.KeyTables {
					must(t, b.db.Exec(`ALTER TABLE `+table+` MODIFY conversation_key VARCHAR(191) CHARACTER SET utf8mb4 COLLATE `+tc.collation+` NOT NULL`).Error)
				}
			}
			in := chatstoretest.Relay(t, b.db, "conv-1", "hello")
			at := time.Now()
			for _, k := range []string{"CONV-1", "conv-1 ", "cönv-1"} {
				notFound := func(what string, err error) {
					t.Helper()
					if !errors.Is(err, chatcore.ErrNotFound) {
						t.Errorf("%s %q: %v, want ErrNotFound", what, k, err)
					}
				}
				_, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: k, Author: "alice", Body: "hi", ClientID: "c-" + k, At: at})
				notFound("reply to", err)
				notFound("mark read", b.store.MarkRead(b.ctx, "alice", k, 1))
				notFound("assign", b.store.Assign(b.ctx, k, "alice", at))
				notFound("resolve", b.store.SetState(b.ctx, k, chatcore.StateResolved, at))
				_, err = b.store.Conversation(b.ctx, k, "alice")
				notFound("load", err)
				msgs, err := b.store.Messages(b.ctx, chatcore.MessageQuery{ConversationKey: k, Limit: 10})
				must(t, err)
				if len(msgs) != 0 {
					t.Errorf("messages of %q: %d, want none", k, len(msgs))
				}
				cs, err := b.store.ConversationsByKey(b.ctx, []string{k})
				must(t, err)
				if len(cs) != 0 {
					t.Errorf("conversations by key %q: %+v", k, cs)
				}
				_, err = b.store.LabelMessage(b.ctx, chatcore.Label{MessageID: in[0].ID, ConversationKey: k, Intent: "refund", LabelledBy: "alice", LabelledAt: at})
				notFound("label a message of", err)
			}
			if n := count(t, b.db, `SELECT COUNT(*) FROM chat_labels`); n != 0 {
				t.Errorf("%d labels written", n)
			}
			if n := count(t, b.db, `SELECT COUNT(*) FROM message_reply`); n != 0 {
				t.Errorf("%d replies written", n)
			}
			if n := count(t, b.db, `SELECT COUNT(*) FROM console_reads`); n != 0 {
				t.Errorf("%d read markers written", n)
			}
			cv, err := b.store.Conversation(b.ctx, "conv-1", "alice")
			must(t, err)
			if cv.LastSeq != 1 || cv.Assignee != "" || cv.State != chatcore.StateOpen {
				t.Errorf("conv-1 changed through other spellings: %+v", cv)
			}

			// The key as stored works.
			res, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "conv-1", Author: "alice", Body: "hi", ClientID: "c-1", At: at})
			if err != nil || !res.Created || !res.Took || res.Message.ConversationKey != "conv-1" || res.Message.Seq != 2 {
				t.Fatalf("reply to conv-1: %+v, %v", res, err)
			}
			must(t, b.store.MarkRead(b.ctx, "bob", "conv-1", 2))
			must(t, b.store.Assign(b.ctx, "conv-1", "alice", at))
			marks, err := b.store.ReadMarkers(b.ctx, []string{"CONV-1", "conv-1"}, []string{"bob"})
			must(t, err)
			if len(marks) != 1 || marks[chatcore.ReadKey{Username: "bob", ConversationKey: "conv-1"}] != 2 {
				t.Errorf("read markers %v, want bob's in conv-1 only", marks)
			}
		})
	}
}

// A conversation carries a preview of its last message, whatever the row
// held: the body cut to PreviewChars, no payload.
func TestConversationsCarryAPreview(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		long := strings.Repeat("é", 5000)
		in := chatstoretest.Relay(t, b.db, "k", long)
		// A payload from before relay.max_payload_bytes existed.
		must(t, b.db.Exec(`UPDATE chat_messages SET payload = ? WHERE id = ?`, `{"blob":"`+strings.Repeat("x", 1<<20)+`"}`, in[0].ID).Error)
		convs, err := b.store.Conversations(b.ctx, chatcore.ConversationQuery{Username: "alice", Tab: chatcore.TabAll, Limit: 10})
		must(t, err)
		byKey, err := b.store.ConversationsByKey(b.ctx, []string{"k"})
		must(t, err)
		one, err := b.store.Conversation(b.ctx, "k", "alice")
		must(t, err)
		for _, cv := range append(append(convs, byKey...), one) {
			m := cv.LastMessage
			if m == nil || !m.Truncated || len(m.Payload) != 0 || utf8.RuneCountInString(m.Body) != chatcore.PreviewChars+1 ||
				!strings.HasSuffix(m.Body, "…") {
				t.Fatalf("last message of %s: %+v", cv.Key, m)
			}
		}
		full, err := b.store.Messages(b.ctx, chatcore.MessageQuery{ConversationKey: "k", Limit: 1})
		must(t, err)
		if len(full) != 1 || full[0].Body != long || full[0].Truncated || len(full[0].Payload) < 1<<20 {
			t.Fatalf("the message itself is not whole")
		}
		short := chatstoretest.Relay(t, b.db, "k", "short")
		one, err = b.store.Conversation(b.ctx, "k", "alice")
		must(t, err)
		if m := one.LastMessage; m == nil || m.Truncated || m.Body != "short" || m.Seq != short[0].Seq {
			t.Fatalf("short last message: %+v", m)
		}
	})
}
