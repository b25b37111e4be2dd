package chatcore_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

type replyAnswer struct {
	Message wireMessage `json:"message"`
}

type convAnswer struct {
	Conversation wireConversation `json:"conversation"`
}

type listAnswer struct {
	Conversations []wireConversation `json:"conversations"`
}

type messagesAnswer struct {
	Messages []wireMessage `json:"messages"`
}

// A reply over HTTP lands in chat history and message_reply with the next
// seq, reaches every socket, and a retry with the same client_id returns
// the first message.
func TestReplyOverHTTP(t *testing.T) {
	t.Parallel()
	for _, d := range chatstoretest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{dialect: d})
			in := chatstoretest.Relay(t, b.db, "order/1 ü", "where is my parcel?")
			alice, bob := b.login(t, "alice"), b.login(t, "bob")
			bobWS := bob.dial()
			path := "/api/conversations/" + url.PathEscape("order/1 ü") + "/replies"

			res := alice.do("POST", path, map[string]string{"body": "On its way!", "client_id": "cid-1"}, nil)
			if res.status != 200 {
				t.Fatalf("reply: %d %s", res.status, res.body)
			}
			var first replyAnswer
			res.decode(t, &first)
			if m := first.Message; m.Seq != 2 || m.SenderType != "agent" || m.SenderName != "alice" || m.ConversationKey != "order/1 ü" || m.ClientID != "cid-1" {
				t.Fatalf("reply = %+v", m)
			}
			f := bobWS.await(5*time.Second, func(f serverFrame) bool { return f.Type == "message" })
			if m := f.message(t); m.ID != first.Message.ID || m.Seq != 2 || m.ClientID != "cid-1" {
				t.Fatalf("pushed reply = %+v", m)
			}

			res = alice.do("POST", path, map[string]string{"body": "On its way!", "client_id": "cid-1"}, nil)
			var again replyAnswer
			res.decode(t, &again)
			if res.status != 200 || again.Message.ID != first.Message.ID || again.Message.ClientID != "cid-1" {
				t.Fatalf("retry: %d %+v", res.status, again)
			}
			var n int64
			b.db.Raw(`SELECT COUNT(*) FROM message_reply WHERE conversation_key = ? AND chat_message_id = ? AND in_reply_to = ?`,
				"order/1 ü", first.Message.ID, in[0].SourceID).Row().Scan(&n)
			if n != 1 {
				t.Fatalf("message_reply rows for the reply: %d", n)
			}

			for _, tc := range []struct {
				body any
				want int
			}{
				{map[string]string{"body": "  ", "client_id": "x"}, 400},
				{map[string]string{"body": "hi"}, 400},
				{map[string]string{"body": "hi", "client_id": "has space"}, 400},
				{"not json", 400},
			} {
				if res := alice.do("POST", path, tc.body, nil); res.status != tc.want {
					t.Errorf("reply %v: %d %s", tc.body, res.status, res.body)
				}
			}
			if res := alice.do("POST", "/api/conversations/nope/replies", map[string]string{"body": "x", "client_id": "y"}, nil); res.status != 404 {
				t.Errorf("reply to a missing conversation: %d", res.status)
			}
		})
	}
}

func TestConversationWorkflow(t *testing.T) {
	t.Parallel()
	for _, d := range chatstoretest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{dialect: d})
			var bodies []string
			for i := 1; i <= 7; i++ {
				bodies = append(bodies, fmt.Sprint("m", i))
			}
			chatstoretest.Relay(t, b.db, "a", bodies...)
			time.Sleep(2 * time.Millisecond) // distinct last_message_at for the order
			chatstoretest.Relay(t, b.db, "b", "hi")
			alice, bob := b.login(t, "alice"), b.login(t, "bob")
			bobWS := bob.dial()

			list := func(c *client, q string) []string {
				t.Helper()
				res := c.do("GET", "/api/conversations"+q, nil, nil)
				if res.status != 200 {
					t.Fatalf("list %s: %d %s", q, res.status, res.body)
				}
				var l listAnswer
				res.decode(t, &l)
				keys := []string{}
				for _, c := range l.Conversations {
					keys = append(keys, c.Key)
				}
				return keys
			}
			if got := fmt.Sprint(list(alice, "?tab=unassigned")); got != "[b a]" {
				t.Fatalf("unassigned = %s", got)
			}

			// Take: alice assigns herself; bob's socket hears of it.
			res := alice.do("POST", "/api/conversations/a/assign", map[string]any{"assignee": "alice"}, nil)
			var ca convAnswer
			res.decode(t, &ca)
			if res.status != 200 || ca.Conversation.Assignee == nil || *ca.Conversation.Assignee != "alice" {
				t.Fatalf("take: %d %s", res.status, res.body)
			}
			f := bobWS.await(5*time.Second, func(f serverFrame) bool {
				c := f.conversation(t)
				return f.Type == "conversation" && c.Key == "a" && c.Assignee != nil
			})
			if c := f.conversation(t); *c.Assignee != "alice" || c.Unread != 7 {
				t.Fatalf("bob's frame = %+v", c)
			}
			if got := fmt.Sprint(list(alice, "?tab=mine")); got != "[a]" {
				t.Fatalf("alice's mine = %s", got)
			}
			if got := fmt.Sprint(list(bob, "?tab=mine")); got != "[]" {
				t.Fatalf("bob's mine = %s", got)
			}
			// Hand over to bob, then release.
			if res := alice.do("POST", "/api/conversations/a/assign", map[string]any{"assignee": "bob"}, nil); res.status != 200 {
				t.Fatalf("hand over: %d %s", res.status, res.body)
			}
			if got := fmt.Sprint(list(bob, "?tab=mine")); got != "[a]" {
				t.Fatalf("bob's mine after hand-over = %s", got)
			}
			if res := alice.do("POST", "/api/conversations/a/assign", map[string]any{"assignee": "nobody"}, nil); res.status != 400 {
				t.Fatalf("assign to an unknown agent: %d", res.status)
			}
			if res := alice.do("POST", "/api/conversations/a/assign", map[string]any{}, nil); res.status != 400 {
				t.Fatalf("assign without assignee: %d", res.status)
			}
			if res := bob.do("POST", "/api/conversations/a/assign", map[string]any{"assignee": nil}, nil); res.status != 200 {
				t.Fatalf("release: %d", res.status)
			}

			// Read marker and unread.
			if res := alice.do("POST", "/api/conversations/a/read", map[string]int{"seq": 5}, nil); res.status != 204 {
				t.Fatalf("read: %d %s", res.status, res.body)
			}
			// Seven messages, and the events of the hand-over and the release.
			var l listAnswer
			alice.do("GET", "/api/conversations?tab=all", nil, nil).decode(t, &l)
			for _, c := range l.Conversations {
				if c.Key == "a" && (c.ReadSeq != 5 || c.Unread != 4 || c.LastSeq != 9 || c.LastMessage == nil || c.LastMessage.Body != "bob released this conversation") {
					t.Fatalf("a for alice = %+v", c)
				}
			}

			// Resolve and reopen.
			res = alice.do("POST", "/api/conversations/b/resolve", nil, nil)
			res.decode(t, &ca)
			if res.status != 200 || ca.Conversation.State != "resolved" {
				t.Fatalf("resolve: %d %s", res.status, res.body)
			}
			if got := fmt.Sprint(list(alice, "?tab=unassigned")); got != "[a]" {
				t.Fatalf("unassigned after resolve = %s", got)
			}
			if got := fmt.Sprint(list(alice, "?tab=all&state=resolved")); got != "[b]" {
				t.Fatalf("resolved = %s", got)
			}
			res = alice.do("POST", "/api/conversations/b/reopen", nil, nil)
			res.decode(t, &ca)
			if res.status != 200 || ca.Conversation.State != "open" {
				t.Fatalf("reopen: %d %s", res.status, res.body)
			}
			if res := alice.do("POST", "/api/conversations/zz/resolve", nil, nil); res.status != 404 {
				t.Fatalf("resolve missing: %d", res.status)
			}
			if res := alice.do("GET", "/api/conversations?tab=bogus", nil, nil); res.status != 400 {
				t.Fatalf("bad tab: %d", res.status)
			}

			// History pages.
			page := func(q string) string {
				var m messagesAnswer
				res := alice.do("GET", "/api/conversations/a/messages"+q, nil, nil)
				if res.status != 200 {
					t.Fatalf("messages%s: %d %s", q, res.status, res.body)
				}
				res.decode(t, &m)
				var seqs []int64
				for _, x := range m.Messages {
					seqs = append(seqs, x.Seq)
				}
				return fmt.Sprint(seqs)
			}
			for q, want := range map[string]string{
				"?limit=3":              "[7 8 9]",
				"?before_seq=5&limit=2": "[3 4]",
				"?after_seq=0&limit=2":  "[1 2]",
				"?after_seq=6":          "[7 8 9]",
				"":                      "[1 2 3 4 5 6 7 8 9]",
			} {
				if got := page(q); got != want {
					t.Errorf("messages%s = %s, want %s", q, got, want)
				}
			}
			if res := alice.do("GET", "/api/conversations/a/messages?after_seq=1&before_seq=3", nil, nil); res.status != 400 {
				t.Errorf("both cursors: %d", res.status)
			}
			if res := alice.do("GET", "/api/conversations/zz/messages", nil, nil); res.status != 404 {
				t.Errorf("messages of a missing conversation: %d", res.status)
			}
		})
	}
}
