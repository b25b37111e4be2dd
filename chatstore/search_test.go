package chatstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// searchKeys runs a search as agent alice over every conversation and
// returns the keys found, in order.
func searchKeys(t *testing.T, b bundle, text string, limit int) []string {
	t.Helper()
	return keysOf(t, search(t, b, chatcore.ConversationQuery{Username: "alice", Tab: chatcore.TabAll, Limit: limit}, text))
}

func search(t *testing.T, b bundle, q chatcore.ConversationQuery, text string) []chatcore.Conversation {
	t.Helper()
	got, err := b.store.SearchConversations(b.ctx, chatcore.SearchQuery{ConversationQuery: q, Text: text})
	if err != nil {
		t.Fatalf("search %q: %v", text, err)
	}
	return got
}

func keysOf(t *testing.T, cs []chatcore.Conversation) []string {
	t.Helper()
	keys := []string{}
	for _, c := range cs {
		keys = append(keys, c.Key)
	}
	return keys
}

// TestSearchConversations runs its searches twice: with the newest
// messages scanned first (all of them, here), and with a window of one
// message, so that the full-text index finds the rest.
func TestSearchConversations(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		chatstoretest.RelayFrom(t, b.db, "order-1001", "Wang Fang", "我要退款，谢谢", "Where is my parcel?")
		chatstoretest.RelayFrom(t, b.db, "order-2002", "Alice Smith", "The refund arrived, ok")
		chatstoretest.RelayFrom(t, b.db, "ORDER-1001", "Li Lei", "发票什么时候开")
		chatstoretest.RelayFrom(t, b.db, "shop-7", "Zhang Wei", "refunds take how long?")
		if _, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "shop-7", Author: "bob",
			Body: "Three days for a refund", ClientID: "c-1", At: time.Now().UTC()}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			q    string
			want []string
		}{
			// Chinese: a word inside a sentence, one character, the
			// first, the last, three characters; absent words.
			{"退款", []string{"order-1001"}},
			{"退", []string{"order-1001"}},
			{"款", []string{"order-1001"}},
			{"要退款", []string{"order-1001"}},
			{"发票", []string{"ORDER-1001"}},
			{"退货", []string{}},
			{"谢谢退款", []string{}}, // the comma splits the runs: no pair 谢退
			// The customer's name, any case and order; an agent's name is not the customer's.
			{"wang", []string{"order-1001"}},
			{"fang WANG", []string{"order-1001"}},
			{"bob", []string{}},
			// Words: whole, a prefix while typing, short ones and
			// MariaDB's stopwords ("the", "how"), punctuation.
			{"parcel", []string{"order-1001"}},
			{"PARCEL?", []string{"order-1001"}},
			{"ok", []string{"order-2002"}},
			{"the refund", []string{"order-2002"}},
			{"how", []string{"shop-7"}},
			{"thr", []string{"shop-7"}},                  // the agent's reply, by prefix
			{"refund", []string{"shop-7", "order-2002"}}, // newest match first: the agent's reply
			{"refunds", []string{"shop-7"}},
			// Keys: their words, any case; the exact key first.
			{"1001", []string{"ORDER-1001", "order-1001"}},
			{"ORDER-1001", []string{"ORDER-1001", "order-1001"}},
			{"order-1001", []string{"order-1001", "ORDER-1001"}},
			{"shop-", []string{"shop-7"}},
			// A key's start byte for byte (key order), then its words.
			{"order", []string{"order-1001", "order-2002", "ORDER-1001"}},
			{"ORDER", []string{"ORDER-1001", "order-2002", "order-1001"}},
			{"order-", []string{"order-1001", "order-2002", "ORDER-1001"}},
			{"nothing", []string{}},
		} {
			for _, window := range []int64{0, 1} {
				b.store.SetSearchWindow(window)
				if got := searchKeys(t, b, tc.q, 20); !slices.Equal(got, tc.want) {
					t.Errorf("search %q (window %d) = %q, want %q", tc.q, window, got, tc.want)
				}
			}
		}
		b.store.SetSearchWindow(0)
		if got := searchKeys(t, b, "order", 2); !slices.Equal(got, []string{"order-1001", "order-2002"}) {
			t.Errorf("search with limit 2 = %q", got)
		}
	})
}

// A result is the conversation as the list shows it to the asking agent
// (read marker, unread, last message), and the tab and state apply.
func TestSearchAgentView(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		chatstoretest.RelayFrom(t, b.db, "order-1", "Wang Fang", "我要退款", "还没到")
		chatstoretest.RelayFrom(t, b.db, "order-2", "Wang Fang", "退款了吗")
		if err := b.store.MarkRead(b.ctx, "alice", "order-1", 1); err != nil {
			t.Fatal(err)
		}
		if err := b.store.Assign(b.ctx, "order-2", "alice", time.Now()); err != nil {
			t.Fatal(err)
		}
		all := chatcore.ConversationQuery{Username: "alice", Tab: chatcore.TabAll, Limit: 10}
		got := search(t, b, all, "退款")
		if keys := keysOf(t, got); !slices.Equal(keys, []string{"order-2", "order-1"}) {
			t.Fatalf("search = %q", keys)
		}
		for _, cv := range got {
			want, err := b.store.Conversation(b.ctx, cv.Key, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if cv.ReadSeq != want.ReadSeq || cv.Unread != want.Unread || cv.Assignee != want.Assignee ||
				cv.LastMessage == nil || want.LastMessage == nil || cv.LastMessage.Body != want.LastMessage.Body {
				t.Errorf("search result %+v, list item %+v", cv, want)
			}
		}
		if got[1].Unread != 1 || got[1].LastMessage.Body != "还没到" {
			t.Errorf("order-1 as alice sees it: unread %d, last %q", got[1].Unread, got[1].LastMessage.Body)
		}
		mine := chatcore.ConversationQuery{Username: "alice", Tab: chatcore.TabMine, Limit: 10}
		if keys := keysOf(t, search(t, b, mine, "退款")); !slices.Equal(keys, []string{"order-2"}) {
			t.Errorf("search in mine = %q", keys)
		}
		if keys := keysOf(t, search(t, b, mine, "order-1")); len(keys) != 0 {
			t.Errorf("search in mine for another's key = %q", keys)
		}
		resolved := chatcore.ConversationQuery{Username: "alice", Tab: chatcore.TabAll, State: chatcore.StateResolved, Limit: 10}
		if keys := keysOf(t, search(t, b, resolved, "退款")); len(keys) != 0 {
			t.Errorf("search of resolved = %q", keys)
		}
	})
}
