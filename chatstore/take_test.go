package chatstore_test

import (
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// Replying to an unassigned conversation takes it, in the reply's
// transaction; a conversation that is someone's stays theirs.
func TestReplyTakesUnassignedConversation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		chatstoretest.Relay(t, b.db, "order-7", "where is my parcel?")
		chatstoretest.Relay(t, b.db, "order-8", "hello?")
		if err := b.store.Assign(b.ctx, "order-8", "carol", time.Now()); err != nil {
			t.Fatal(err)
		}
		reply := func(key, author, clientID string) chatcore.ReplyResult {
			t.Helper()
			res, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: key, Author: author, Body: "on it",
				ClientID: clientID, At: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		assignee := func(key string) string {
			t.Helper()
			cv, err := b.store.Conversation(b.ctx, key, "alice")
			if err != nil {
				t.Fatal(err)
			}
			return cv.Assignee
		}

		if res := reply("order-7", "alice", "a-1"); !res.Took || !res.Created {
			t.Errorf("alice's reply to an unassigned conversation: took %v created %v, want both", res.Took, res.Created)
		}
		if got := assignee("order-7"); got != "alice" {
			t.Errorf("order-7 assignee = %q after alice replied, want alice", got)
		}
		unassigned, err := b.store.Conversations(b.ctx, chatcore.ConversationQuery{Username: "alice", Tab: chatcore.TabUnassigned, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, cv := range unassigned {
			if cv.Key == "order-7" {
				t.Error("order-7 is still listed as unassigned after alice replied")
			}
		}
		if res := reply("order-7", "alice", "a-1"); res.Took || res.Created {
			t.Errorf("a retry of the same reply: took %v created %v, want neither", res.Took, res.Created)
		}
		if res := reply("order-7", "bob", "b-1"); res.Took {
			t.Error("bob's reply took alice's conversation")
		}
		if got := assignee("order-7"); got != "alice" {
			t.Errorf("order-7 assignee = %q after bob replied, want alice still", got)
		}
		if res := reply("order-8", "alice", "a-2"); res.Took {
			t.Error("alice's reply took carol's conversation")
		}
		if got := assignee("order-8"); got != "carol" {
			t.Errorf("order-8 assignee = %q, want carol", got)
		}
	})
}
