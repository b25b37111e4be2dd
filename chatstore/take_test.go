package chatstore_test

import (
	"errors"
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
		// Someone else's: refused, naming the holder, and nothing written.
		_, err = b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "order-7", Author: "bob", Body: "mine now?",
			ClientID: "b-1", At: time.Now()})
		var held *chatcore.HeldError
		if !errors.As(err, &held) || held.Assignee != "alice" {
			t.Fatalf("bob's reply to alice's conversation: err %v, want a HeldError naming alice", err)
		}
		if got := assignee("order-7"); got != "alice" {
			t.Errorf("order-7 assignee = %q after bob's refused reply, want alice still", got)
		}
		before := lastSeq(t, b, "order-8")
		if _, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "order-8", Author: "alice", Body: "hi",
			ClientID: "a-2", At: time.Now()}); !errors.As(err, &held) || held.Assignee != "carol" {
			t.Fatalf("alice's reply to carol's conversation: err %v, want a HeldError naming carol", err)
		}
		if got := lastSeq(t, b, "order-8"); got != before {
			t.Errorf("a refused reply moved last_seq %d -> %d", before, got)
		}
		// With TakeOver the reply takes it, after an event that says so.
		res, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "order-8", Author: "alice", Body: "hi",
			ClientID: "a-2", TakeOver: true, At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Took || res.Event == nil || res.Event.Seq != res.Message.Seq-1 {
			t.Fatalf("take-over reply: took %v event %+v message seq %d, want the event just before the reply", res.Took, res.Event, res.Message.Seq)
		}
		if got := assignee("order-8"); got != "alice" {
			t.Errorf("order-8 assignee = %q after alice took it over, want alice", got)
		}
		// A retry of the reply once bob holds it answers with the reply.
		if _, err := b.store.Reassign(b.ctx, chatcore.AssignChange{Key: "order-8", By: "bob", To: "bob", TakeOver: true, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if again := reply("order-8", "alice", "a-2"); again.Created || again.Message.ID != res.Message.ID {
			t.Errorf("retry after bob took it: created %v id %d, want the first reply %d", again.Created, again.Message.ID, res.Message.ID)
		}
	})
}

func lastSeq(t *testing.T, b bundle, key string) int64 {
	t.Helper()
	cv, err := b.store.Conversation(b.ctx, key, "x")
	if err != nil {
		t.Fatal(err)
	}
	return cv.LastSeq
}
