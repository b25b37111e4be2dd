package chatstore_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// Take, hand to, take over and release: each hand-over is one assignment
// event in the history (taking an unassigned one is none), none reaches message_reply, and a conversation
// another agent holds changes only with TakeOver.
func TestReassignRecordsEvents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		chatstoretest.Relay(t, b.db, "k", "hello?")
		change := func(by, to string, takeOver bool) (chatcore.AssignResult, error) {
			return b.store.Reassign(b.ctx, chatcore.AssignChange{Key: "k", By: by, To: to, TakeOver: takeOver, At: time.Now()})
		}
		must := func(by, to string, takeOver bool) chatcore.AssignResult {
			t.Helper()
			res, err := change(by, to, takeOver)
			if err != nil {
				t.Fatalf("%s gives k to %q: %v", by, to, err)
			}
			return res
		}
		waitingBefore := waitingSince(t, b, "k")

		if res := must("alice", "alice", false); !res.Changed || res.From != "" || res.Event != nil {
			t.Fatalf("alice takes k: %+v, want a change without an event (nothing handed over)", res)
		}
		if res := must("alice", "alice", false); res.Changed || res.Event != nil {
			t.Fatalf("alice takes k again: %+v, want no change", res)
		}
		must("alice", "bob", false) // hers to hand on
		_, err := change("carol", "carol", false)
		var held *chatcore.HeldError
		if !errors.As(err, &held) || held.Assignee != "bob" {
			t.Fatalf("carol takes bob's k: %v, want a HeldError naming bob", err)
		}
		if _, err := change("carol", "", false); !errors.As(err, &held) {
			t.Fatalf("carol releases bob's k: %v, want a HeldError", err)
		}
		must("carol", "carol", true)
		must("carol", "", false)
		if _, err := b.store.Reassign(b.ctx, chatcore.AssignChange{Key: "nope", By: "a", To: "a", At: time.Now()}); !errors.Is(err, chatcore.ErrNotFound) {
			t.Fatalf("missing conversation: %v", err)
		}

		msgs, err := b.store.Messages(b.ctx, chatcore.MessageQuery{ConversationKey: "k", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []chat.AssignmentPayload
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("seq %d at position %d: the history has a gap", m.Seq, i)
			}
			if m.Kind != chat.KindAssignment {
				continue
			}
			if m.SenderType != chat.SenderSystem || m.SenderName == "" || m.Body == "" {
				t.Errorf("event %+v: want a system message by its actor with a body", m)
			}
			var p chat.AssignmentPayload
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				t.Fatalf("payload %s: %v", m.Payload, err)
			}
			got = append(got, p)
		}
		want := []chat.AssignmentPayload{
			{By: "alice", From: "alice", To: "bob"},
			{By: "carol", From: "bob", To: "carol"}, {By: "carol", From: "carol"},
		}
		if len(got) != len(want) {
			t.Fatalf("events %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
			}
		}
		if n := count(t, b.db, `SELECT COUNT(*) FROM message_reply`); n != 0 {
			t.Errorf("message_reply has %d rows after assignments, want none", n)
		}
		cv, err := b.store.Conversation(b.ctx, "k", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if cv.Assignee != "" || cv.LastSeq != int64(len(msgs)) {
			t.Errorf("k: assignee %q last_seq %d, want released at %d", cv.Assignee, cv.LastSeq, len(msgs))
		}
		if w := waitingSince(t, b, "k"); !w.Equal(waitingBefore) {
			t.Errorf("waiting_since %v -> %v: an event answers nobody", waitingBefore, w)
		}
	})
}

func waitingSince(t *testing.T, b bundle, key string) time.Time {
	t.Helper()
	cv, err := b.store.Conversation(b.ctx, key, "x")
	if err != nil {
		t.Fatal(err)
	}
	return cv.WaitingSince
}

// Agents by role: an admin can be added; the last enabled admin can be
// neither disabled nor demoted, another one can; disabling and a new
// password end the agent's sessions.
func TestAgentRolesKeepAnAdmin(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		ok := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		ok(b.store.AddAgent(b.ctx, "root", "h", true))
		ok(b.store.AddAgent(b.ctx, "amy", "h", false))
		if err := b.store.AddAgent(b.ctx, "root", "h", false); !errors.Is(err, chatcore.ErrExists) {
			t.Fatalf("add root twice: %v", err)
		}
		if err := b.store.SetAgentDisabled(b.ctx, "root", true); !errors.Is(err, chatcore.ErrLastAdmin) {
			t.Fatalf("disable the only admin: %v, want ErrLastAdmin", err)
		}
		if err := b.store.SetAgentAdmin(b.ctx, "root", false); !errors.Is(err, chatcore.ErrLastAdmin) {
			t.Fatalf("demote the only admin: %v, want ErrLastAdmin", err)
		}
		ok(b.store.SetAgentDisabled(b.ctx, "amy", true)) // not an admin: fine
		ok(b.store.SetAgentDisabled(b.ctx, "amy", false))
		ok(b.store.SetAgentAdmin(b.ctx, "amy", true))
		before := agent(t, b, "root").SessionVersion
		ok(b.store.SetAgentDisabled(b.ctx, "root", true)) // amy is an admin now
		if a := agent(t, b, "root"); !a.Disabled || a.SessionVersion <= before {
			t.Fatalf("root after disable: %+v, want disabled with a higher session_version", a)
		}
		if err := b.store.SetAgentAdmin(b.ctx, "amy", false); !errors.Is(err, chatcore.ErrLastAdmin) {
			t.Fatalf("demote amy, the only enabled admin: %v", err)
		}
		before = agent(t, b, "amy").SessionVersion
		ok(b.store.SetAgentPassword(b.ctx, "amy", "h2"))
		if a := agent(t, b, "amy"); a.PasswordHash != "h2" || a.SessionVersion <= before {
			t.Fatalf("amy after a new password: %+v", a)
		}
		if err := b.store.SetAgentDisabled(b.ctx, "nobody", true); !errors.Is(err, chatcore.ErrNotFound) {
			t.Fatalf("disable nobody: %v", err)
		}
		// A console from before roles has no admin; nothing is refused there.
		ok(b.store.AddAgent(b.ctx, "x", "h", false))
		ok(b.store.SetAgentDisabled(b.ctx, "x", true))
	})
}

func agent(t *testing.T, b bundle, name string) chatcore.Agent {
	t.Helper()
	a, err := b.store.Agent(b.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
