package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/syncd-dev/syncd/internal/testdb"
)

// A bot reply answers the customer but leaves the conversation on the
// agents' queue unless it resolves; a hand-off keeps it waiting, flagged,
// even when a resolving answer follows (issue 11 point 1). On main every
// bot reply cleared waiting_since.
func TestBotReplyLeavesConversationWaiting(t *testing.T) {
	type step struct {
		body              string
		reply             string
		resolves, handoff bool
	}
	for _, tc := range []struct {
		name       string
		steps      []step
		waiting    bool
		answeredBy string
		wantsAgent bool
	}{
		{"canned answer", []step{{body: "where is my order", reply: "Track it under My Orders."}}, true, "bot", false},
		{"greeting resolves", []step{{body: "hello", reply: "Hello!", resolves: true}}, false, "bot", false},
		{"hand-off", []step{{body: "I want to talk to a real person please", reply: "An agent will join shortly.", handoff: true}}, true, "bot", true},
		{"hand-off then thanks", []step{
			{body: "转人工", reply: "正在为您转接人工客服。", handoff: true},
			{body: "thanks", reply: "You're welcome!", resolves: true},
		}, true, "bot", true},
		{"no reply", []step{{body: "my parcel is broken"}}, true, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *testdb.DB) {
				for _, s := range tc.steps {
					db.Insert(t, "conv", s.body)
					c := claim(t, db.Store, 10)
					out := relayAll(c)
					out.Relayed[0].AutoReply, out.Relayed[0].Resolves, out.Relayed[0].Handoff = s.reply, s.resolves, s.handoff
					if _, err := db.Store.Commit(context.Background(), c, out); err != nil {
						t.Fatal(err)
					}
				}
				var waiting sql.NullString
				var answered sql.NullString
				var wants bool
				if err := db.Raw.QueryRow(`SELECT waiting_since, answered_by, wants_agent FROM conversations WHERE conversation_key = 'conv'`).
					Scan(&waiting, &answered, &wants); err != nil {
					t.Fatal(err)
				}
				if waiting.Valid != tc.waiting || answered.String != tc.answeredBy || wants != tc.wantsAgent {
					t.Fatalf("waiting %v, answered_by %q, wants_agent %v; want %v, %q, %v",
						waiting.Valid, answered.String, wants, tc.waiting, tc.answeredBy, tc.wantsAgent)
				}
			})
		})
	}
}
