package chatcore_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

type slaItem struct {
	Key       string     `json:"conversation_key"`
	Assignee  *string    `json:"assignee"`
	DueAt     *time.Time `json:"due_at"`
	DueTarget string     `json:"due_target"`
	Breached  bool       `json:"breached"`
}

func (c *client) slaList(t *testing.T) map[string]slaItem {
	t.Helper()
	var out struct{ Conversations []slaItem }
	res := c.do("GET", "/api/conversations?tab=all", nil, nil)
	if res.status != 200 {
		t.Fatalf("list: %d %s", res.status, res.body)
	}
	res.decode(t, &out)
	m := map[string]slaItem{}
	for _, it := range out.Conversations {
		m[it.Key] = it
	}
	return m
}

// The list carries each wait's due time and marks a breach; an assignee
// who does not reply within the reply target loses the conversation to
// Unassigned, with an event in its history pushed like any message, and
// the breach is counted.
func TestSLAReturnsLateConversation(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) {
		o.Now = clock.now
		o.SLA = chatcore.SLARules{FirstResponse: 5 * time.Minute, Reply: 10 * time.Minute}
	}})
	alice := b.login(t, "alice")
	ws := alice.dial()
	msgs := chatstoretest.Relay(t, b.db, "late", "where is my parcel?")
	if res := alice.do("POST", "/api/conversations/late/assign", map[string]any{"assignee": "alice"}, nil); res.status != 200 {
		t.Fatalf("assign: %d %s", res.status, res.body)
	}
	it := alice.slaList(t)["late"]
	want := msgs[0].CreatedAt.Add(5 * time.Minute)
	if it.DueAt == nil || !it.DueAt.Equal(want) || it.DueTarget != "first_response" || it.Breached {
		t.Fatalf("list item = %+v, want due %v (first_response), not breached", it, want)
	}

	clock.advance(11 * time.Minute)
	ev := ws.await(10*time.Second, func(f serverFrame) bool {
		return f.Type == "message" && f.message(t).SenderType == "system"
	})
	var m struct {
		Kind    string
		Payload struct {
			From string
			To   *string
		}
	}
	if err := json.Unmarshal(ev.Message, &m); err != nil {
		t.Fatal(err)
	}
	if m.Kind != chatcore.EventSLAReturned || m.Payload.From != "alice" || m.Payload.To != nil {
		t.Fatalf("event = %s, want %s from alice to nobody", ev.Message, chatcore.EventSLAReturned)
	}
	ws.await(5*time.Second, func(f serverFrame) bool {
		return f.Type == "conversation" && f.conversation(t).Key == "late" && f.conversation(t).Assignee == nil
	})
	it = alice.slaList(t)["late"]
	if !it.Breached || it.Assignee != nil {
		t.Errorf("list item after the target = %+v, want breached and unassigned", it)
	}
	var hist struct{ Messages []struct{ Kind string } }
	alice.do("GET", "/api/conversations/late/messages", nil, nil).decode(t, &hist)
	if n := len(hist.Messages); n == 0 || hist.Messages[n-1].Kind != chatcore.EventSLAReturned {
		t.Errorf("history = %+v, want it to end with the return", hist.Messages)
	}
	eventually(t, 5*time.Second, "the breach to be counted", func() bool {
		s := b.core.Stats().SLA
		return s.FirstResponseBreaches == 1 && s.Returned == 1
	})
	if s := b.core.Stats().SLA; s.ReplyBreaches != 0 {
		t.Errorf("reply breaches = %d before any agent replied", s.ReplyBreaches)
	}
}

// Admins edit the rules; every instance's list follows them; bad values
// are refused with the bound.
func TestAdminEditsSLARules(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	admin := b.login(t, "root")
	if err := b.store.SetAgentAdmin(b.ctx, "root", true); err != nil {
		t.Fatal(err)
	}
	var got map[string]int64
	admin.do("GET", "/api/admin/sla", nil, nil).decode(t, &got)
	if got["first_response_seconds"] != 0 || got["reply_seconds"] != 0 {
		t.Fatalf("rules of a new deployment = %v, want both off", got)
	}
	for _, bad := range []any{map[string]int64{"first_response_seconds": -1, "reply_seconds": 0},
		map[string]int64{"first_response_seconds": 60}, map[string]int64{"first_response_seconds": 0, "reply_seconds": 1 << 40}} {
		if res := admin.do("PUT", "/api/admin/sla", bad, nil); res.status != 400 {
			t.Errorf("PUT %v: %d, want 400", bad, res.status)
		}
	}
	if res := admin.do("PUT", "/api/admin/sla", map[string]int64{"first_response_seconds": 120, "reply_seconds": 600}, nil); res.status != 200 {
		t.Fatalf("PUT: %d %s", res.status, res.body)
	}
	admin.do("GET", "/api/admin/sla", nil, nil).decode(t, &got)
	if got["first_response_seconds"] != 120 || got["reply_seconds"] != 600 {
		t.Fatalf("rules after PUT = %v", got)
	}
	msgs := chatstoretest.Relay(t, b.db, "k", "hi")
	it := admin.slaList(t)["k"]
	if it.DueAt == nil || !it.DueAt.Equal(msgs[0].CreatedAt.Add(2*time.Minute)) {
		t.Errorf("due_at = %v, want the wait plus the new first-response target", it.DueAt)
	}
}
