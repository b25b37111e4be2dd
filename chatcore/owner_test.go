package chatcore_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

type assignAnswer struct {
	Conversation wireConversation `json:"conversation"`
	Error        string           `json:"error"`
	Assignee     *string          `json:"assignee"` // the holder, on 409
}

func assignReq(t *testing.T, c *client, key string, to any, takeOver bool) (int, assignAnswer) {
	t.Helper()
	res := c.do("POST", "/api/conversations/"+key+"/assign", map[string]any{"assignee": to, "take_over": takeOver}, nil)
	var a assignAnswer
	res.decode(t, &a)
	return res.status, a
}

// eventFrame waits on w for the assignment event of key and returns its payload.
func eventFrame(t *testing.T, w *wsClient, key string) chat.AssignmentPayload {
	t.Helper()
	f := w.await(5*time.Second, func(f serverFrame) bool {
		if f.Type != "message" {
			return false
		}
		var m chat.Message
		_ = json.Unmarshal(f.Message, &m)
		return m.ConversationKey == key && m.Kind == chat.KindAssignment
	})
	var m chat.Message
	if err := json.Unmarshal(f.Message, &m); err != nil {
		t.Fatal(err)
	}
	var p chat.AssignmentPayload
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		t.Fatalf("event payload %s: %v", m.Payload, err)
	}
	if m.SenderType != chat.SenderSystem || m.SenderName != p.By {
		t.Errorf("event %+v: want a system message in its actor's name", m)
	}
	return p
}

// Take, hand to, release: held conversations are refused with 409 and the
// holder unless take_over; every hand-over reaches the sockets as an event.
func TestTakeHandOverRelease(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	chatstoretest.Relay(t, b.db, "k", "hello?")
	alice, bob, carol := b.login(t, "alice"), b.login(t, "bob"), b.login(t, "carol")
	carolWS := carol.dial()

	if st, a := assignReq(t, alice, "k", "alice", false); st != 200 || a.Conversation.Assignee == nil || *a.Conversation.Assignee != "alice" {
		t.Fatalf("alice takes k: %d %+v", st, a)
	}
	if st, a := assignReq(t, alice, "k", "bob", false); st != 200 || *a.Conversation.Assignee != "bob" {
		t.Fatalf("alice hands k to bob: %d %+v", st, a)
	}
	if p := eventFrame(t, carolWS, "k"); p != (chat.AssignmentPayload{By: "alice", From: "alice", To: "bob"}) {
		t.Fatalf("carol heard %+v, want alice handing k to bob", p)
	}
	// Bob's now: carol is told who holds it, whatever she asks for.
	for _, to := range []any{"carol", nil, "alice"} {
		st, a := assignReq(t, carol, "k", to, false)
		if st != 409 || a.Assignee == nil || *a.Assignee != "bob" || a.Error == "" {
			t.Fatalf("carol gives bob's k to %v: %d %+v, want 409 naming bob", to, st, a)
		}
	}
	if st, a := assignReq(t, carol, "k", "carol", true); st != 200 || *a.Conversation.Assignee != "carol" {
		t.Fatalf("carol takes k over: %d %+v", st, a)
	}
	if p := eventFrame(t, carolWS, "k"); p != (chat.AssignmentPayload{By: "carol", From: "bob", To: "carol"}) {
		t.Fatalf("event %+v, want carol taking k over from bob", p)
	}
	if st, a := assignReq(t, carol, "k", nil, false); st != 200 || a.Conversation.Assignee != nil {
		t.Fatalf("carol releases k: %d %+v", st, a)
	}
	if p := eventFrame(t, carolWS, "k"); p != (chat.AssignmentPayload{By: "carol", From: "carol"}) {
		t.Fatalf("event %+v, want carol releasing k", p)
	}
	if st, _ := assignReq(t, bob, "k", "nobody", false); st != 400 {
		t.Fatalf("hand to an unknown agent: %d, want 400", st)
	}
	if st, _ := assignReq(t, bob, "nope", "bob", false); st != 404 {
		t.Fatalf("a missing conversation: %d, want 404", st)
	}
}

type ownReplyAnswer struct {
	Message      wireMessage       `json:"message"`
	Took         bool              `json:"took"`
	Conversation *wireConversation `json:"conversation"`
	Assignee     *string           `json:"assignee"`
}

func replyReq(t *testing.T, c *client, key, clientID string, takeOver bool) (int, ownReplyAnswer) {
	t.Helper()
	res := c.do("POST", "/api/conversations/"+key+"/replies",
		map[string]any{"body": "on it", "client_id": clientID, "take_over": takeOver}, nil)
	var a ownReplyAnswer
	res.decode(t, &a)
	return res.status, a
}

// A reply takes an unassigned conversation; one to a conversation another
// agent holds is refused with 409 and the holder until take_over says the
// agent agreed, and then takes it, after the hand-over event.
func TestReplyTakesOrAsks(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	chatstoretest.Relay(t, b.db, "k", "hello?")
	alice, bob := b.login(t, "alice"), b.login(t, "bob")
	bobWS := bob.dial()

	st, a := replyReq(t, alice, "k", "a-1", false)
	if st != 200 || !a.Took || a.Conversation == nil || *a.Conversation.Assignee != "alice" {
		t.Fatalf("alice replies to unassigned k: %d %+v, want it taken", st, a)
	}
	st, a = replyReq(t, bob, "k", "b-1", false)
	if st != 409 || a.Assignee == nil || *a.Assignee != "alice" {
		t.Fatalf("bob replies to alice's k: %d %+v, want 409 naming alice", st, a)
	}
	var n int64
	if err := b.db.Raw(`SELECT COUNT(*) FROM message_reply`).Scan(&n).Error; err != nil || n != 1 {
		t.Fatalf("message_reply rows = %d (%v) after the refused reply, want 1", n, err)
	}
	st, a = replyReq(t, bob, "k", "b-1", true)
	if st != 200 || !a.Took || *a.Conversation.Assignee != "bob" {
		t.Fatalf("bob replies taking over: %d %+v", st, a)
	}
	if p := eventFrame(t, bobWS, "k"); p != (chat.AssignmentPayload{By: "bob", From: "alice", To: "bob"}) {
		t.Fatalf("event %+v, want bob taking k over from alice", p)
	}
	// The retry of a reply stored already answers with it, no 409.
	if st, again := replyReq(t, bob, "k", "b-1", false); st != 200 || again.Message.ID != a.Message.ID {
		t.Fatalf("retry: %d %+v, want the stored reply %d", st, again, a.Message.ID)
	}
}

type agentsAnswer struct {
	Agents []struct {
		Username string `json:"username"`
		Admin    bool   `json:"admin"`
		Online   bool   `json:"online"`
		Disabled bool   `json:"disabled"`
	} `json:"agents"`
}

// GET /api/agents lists the enabled agents and who has a console socket
// open; it follows sockets opening and closing.
func TestAgentsOnline(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	alice := b.login(t, "alice")
	bob := b.login(t, "bob")
	b.addAgent(t, "zed", "zed-password")
	if err := b.store.SetAgentDisabled(b.ctx, "zed", true); err != nil {
		t.Fatal(err)
	}
	list := func() map[string]bool {
		var a agentsAnswer
		res := alice.do("GET", "/api/agents", nil, nil)
		if res.status != 200 {
			t.Fatalf("GET /api/agents: %d %s", res.status, res.body)
		}
		res.decode(t, &a)
		out := map[string]bool{}
		for _, ag := range a.Agents {
			out[ag.Username] = ag.Online
		}
		return out
	}
	if got := list(); len(got) != 2 || got["alice"] || got["bob"] {
		t.Fatalf("agents %v, want alice and bob, both offline (zed is disabled)", got)
	}
	ws := bob.dial()
	eventually(t, 5*time.Second, "bob online", func() bool { return list()["bob"] })
	ws.ws.Close()
	eventually(t, 5*time.Second, "bob offline", func() bool { return !list()["bob"] })
	names, err := b.core.Online(b.ctx)
	if err != nil || slices.Contains(names, "bob") {
		t.Fatalf("Core.Online = %v, %v", names, err)
	}
}

// Admins add, disable, enable, reset and promote agents; a disabled or
// reset agent's sessions end; the last admin cannot take themself away.
func TestAdminManagesAgents(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	root := b.login(t, "root")
	if err := b.store.SetAgentAdmin(b.ctx, "root", true); err != nil {
		t.Fatal(err)
	}
	post := func(path string, body any) response {
		t.Helper()
		return root.do("POST", path, body, nil)
	}
	if res := post("/api/admin/agents", map[string]any{"username": " Dana ", "password": "dana-password"}); res.status != 201 {
		t.Fatalf("add dana: %d %s", res.status, res.body)
	}
	if res := post("/api/admin/agents", map[string]any{"username": "dana", "password": "dana-password"}); res.status != 409 {
		t.Fatalf("add dana twice: %d, want 409", res.status)
	}
	if res := post("/api/admin/agents", map[string]any{"username": "eve", "password": "short"}); res.status != 400 {
		t.Fatalf("a short password: %d, want 400", res.status)
	}
	if res := post("/api/admin/agents", map[string]any{"username": "Bad Name!", "password": "long enough pw"}); res.status != 400 {
		t.Fatalf("a bad username: %d, want 400", res.status)
	}
	dana := b.client(t)
	if res := dana.do("POST", "/api/login", map[string]string{"username": "dana", "password": "dana-password"}, nil); res.status != 200 {
		t.Fatalf("dana logs in: %d %s", res.status, res.body)
	}
	if res := dana.do("GET", "/api/admin/agents", nil, nil); res.status != 403 {
		t.Fatalf("dana (an agent) lists agents as admin: %d, want 403", res.status)
	}

	if res := post("/api/admin/agents/dana/disable", nil); res.status != 200 {
		t.Fatalf("disable dana: %d %s", res.status, res.body)
	}
	if res := dana.do("GET", "/api/me", nil, nil); res.status != 401 {
		t.Fatalf("dana's session after disable: %d, want 401", res.status)
	}
	if res := dana.do("POST", "/api/login", map[string]string{"username": "dana", "password": "dana-password"}, nil); res.status != 401 {
		t.Fatalf("a disabled agent logs in: %d, want 401", res.status)
	}
	if res := post("/api/admin/agents/dana/enable", nil); res.status != 200 {
		t.Fatalf("enable dana: %d", res.status)
	}
	if res := dana.do("POST", "/api/login", map[string]string{"username": "dana", "password": "dana-password"}, nil); res.status != 200 {
		t.Fatalf("dana logs in again: %d", res.status)
	}
	if res := post("/api/admin/agents/dana/password", map[string]string{"password": "x"}); res.status != 400 {
		t.Fatalf("reset to a short password: %d, want 400", res.status)
	}
	if res := post("/api/admin/agents/dana/password", map[string]string{"password": "new-dana-password"}); res.status != 200 {
		t.Fatalf("reset dana's password: %d %s", res.status, res.body)
	}
	if res := dana.do("GET", "/api/me", nil, nil); res.status != 401 {
		t.Fatalf("dana's session after a reset: %d, want 401", res.status)
	}
	if res := dana.do("POST", "/api/login", map[string]string{"username": "dana", "password": "new-dana-password"}, nil); res.status != 200 {
		t.Fatalf("dana logs in with the new password: %d", res.status)
	}

	// root is the only admin: neither disable nor demote.
	if res := post("/api/admin/agents/root/disable", nil); res.status != 409 {
		t.Fatalf("root disables themself, the only admin: %d %s, want 409", res.status, res.body)
	}
	if res := post("/api/admin/agents/root/role", map[string]bool{"admin": false}); res.status != 409 {
		t.Fatalf("root demotes themself: %d, want 409", res.status)
	}
	if res := root.do("GET", "/api/me", nil, nil); res.status != 200 {
		t.Fatalf("root's session after the refused changes: %d", res.status)
	}
	if res := post("/api/admin/agents/dana/role", map[string]bool{"admin": true}); res.status != 200 {
		t.Fatalf("make dana admin: %d", res.status)
	}
	if res := dana.do("GET", "/api/admin/agents", nil, nil); res.status != 200 {
		t.Fatalf("dana, an admin now, lists agents: %d", res.status)
	}
	if res := post("/api/admin/agents/nobody/disable", nil); res.status != 404 {
		t.Fatalf("disable nobody: %d, want 404", res.status)
	}
	var a agentsAnswer
	root.do("GET", "/api/admin/agents", nil, nil).decode(t, &a)
	roles := map[string]bool{}
	for _, ag := range a.Agents {
		roles[ag.Username] = ag.Admin
	}
	if len(roles) != 2 || !roles["root"] || !roles["dana"] {
		t.Fatalf("agents %+v, want root and dana, both admins", a.Agents)
	}
}
