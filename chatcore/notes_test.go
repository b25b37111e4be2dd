package chatcore_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// A note over HTTP is pushed to the other agents as a message of kind
// note, listed in the history, written once per client_id, checked like a
// reply, and never reaches message_reply, on every dialect.
func TestNoteOverHTTP(t *testing.T) {
	t.Parallel()
	for _, d := range chatstoretest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{dialect: d})
			chatstoretest.Relay(t, b.db, "order/2 ü", "where is my parcel?")
			alice, bob := b.login(t, "alice"), b.login(t, "bob")
			bobWS := bob.dial()
			path := "/api/conversations/" + url.PathEscape("order/2 ü") + "/notes"

			res := alice.do("POST", path, map[string]string{"body": "Refund approved by finance", "client_id": "note-1"}, nil)
			if res.status != 200 {
				t.Fatalf("note: %d %s", res.status, res.body)
			}
			var first struct {
				Message struct {
					wireMessage
					Kind string `json:"kind"`
				} `json:"message"`
			}
			res.decode(t, &first)
			if m := first.Message; m.Seq != 2 || m.Kind != "note" || m.SenderType != "agent" || m.SenderName != "alice" || m.ClientID != "note-1" {
				t.Fatalf("note = %+v", m)
			}
			f := bobWS.await(5*time.Second, func(f serverFrame) bool { return f.Type == "message" })
			var pushed struct {
				ID   int64  `json:"id"`
				Kind string `json:"kind"`
			}
			if err := json.Unmarshal(f.Message, &pushed); err != nil || pushed.ID != first.Message.ID || pushed.Kind != "note" {
				t.Fatalf("pushed note = %s (%v)", f.Message, err)
			}

			again := alice.do("POST", path, map[string]string{"body": "Refund approved by finance", "client_id": "note-1"}, nil)
			if again.status != 200 {
				t.Fatalf("retry: %d %s", again.status, again.body)
			}
			var list messagesAnswer
			alice.do("GET", "/api/conversations/"+url.PathEscape("order/2 ü")+"/messages", nil, nil).decode(t, &list)
			if len(list.Messages) != 2 {
				t.Fatalf("history after a note and its retry: %+v", list.Messages)
			}
			var n int64
			if err := b.db.Raw(`SELECT COUNT(*) FROM message_reply`).Row().Scan(&n); err != nil || n != 0 {
				t.Fatalf("message_reply rows after a note: %d (%v), want none", n, err)
			}
			// Still waiting and unassigned: the note answered nobody.
			var un listAnswer
			alice.do("GET", "/api/conversations?tab=unassigned", nil, nil).decode(t, &un)
			if len(un.Conversations) != 1 || un.Conversations[0].LastSeq != 2 {
				t.Errorf("unassigned after a note: %+v", un.Conversations)
			}
			for _, tc := range []struct {
				path string
				body any
				want int
			}{
				{path, map[string]string{"body": " \n", "client_id": "x"}, 400},
				{path, map[string]string{"body": "hi"}, 400},
				{path, map[string]string{"body": string(make([]byte, 70<<10)), "client_id": "big"}, 400},
				{path, "not json", 400},
				{"/api/conversations/nope/notes", map[string]string{"body": "x", "client_id": "y"}, 404},
			} {
				if res := alice.do("POST", tc.path, tc.body, nil); res.status != tc.want {
					t.Errorf("note %.40v: %d %s, want %d", tc.body, res.status, res.body, tc.want)
				}
			}
		})
	}
}
