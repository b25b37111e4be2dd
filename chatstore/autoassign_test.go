package chatstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// convID is the id of the conversation key, as the queue gives it.
func convID(t *testing.T, b bundle, key string) int64 {
	t.Helper()
	return count(t, b.db, `SELECT id FROM conversations WHERE conversation_key = ?`, key)
}

func assigneeOf(t *testing.T, b bundle, key string) string {
	t.Helper()
	cv, err := b.store.Conversation(b.ctx, key, "")
	must(t, err)
	return cv.Assignee
}

// The agent with the fewest open conversations below capacity gets the
// next one; away and disabled agents get none; a full team gets none.
func TestAutoAssignFewestBelowCapacity(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		for _, a := range []string{"alice", "bob", "carol", "dave"} {
			must(t, b.store.CreateAgent(b.ctx, a, "hash"))
		}
		must(t, b.store.SetAway(b.ctx, "carol", true))
		must(t, b.store.SetAgentDisabled(b.ctx, "dave", true))
		if a, err := b.store.Agent(b.ctx, "carol"); err != nil || !a.Away {
			t.Fatalf("carol after SetAway(true) = %+v, %v", a, err)
		}
		for i := range 5 {
			chatstoretest.Relay(t, b.db, fmt.Sprintf("c%d", i), "hello?")
		}
		must(t, b.store.Assign(b.ctx, "c0", "alice", time.Now()))

		queued, err := b.store.QueuedConversations(b.ctx, 10)
		must(t, err)
		if len(queued) != 4 || queued[0].Key != "c1" || queued[3].Key != "c4" {
			t.Fatalf("queued = %+v, want c1..c4 oldest first", queued)
		}
		team := []string{"alice", "bob", "carol", "dave"}
		want := []chatcore.AutoAssignResult{{Assignee: "bob"}, {Assignee: "alice"}, {Assignee: "bob"}, {Full: true}}
		for i, cv := range queued {
			got, err := b.store.AutoAssign(b.ctx, cv.ID, team, 2, time.Now())
			must(t, err)
			if got != want[i] {
				t.Errorf("AutoAssign(%s) = %+v, want %+v", cv.Key, got, want[i])
			}
		}
		if got, err := b.store.AutoAssign(b.ctx, convID(t, b, "c0"), []string{"bob"}, 5, time.Now()); err != nil || got != (chatcore.AutoAssignResult{}) {
			t.Errorf("AutoAssign of alice's conversation = %+v, %v; want nothing done", got, err)
		}
		if got := assigneeOf(t, b, "c0"); got != "alice" {
			t.Errorf("c0 assignee = %q, want alice still", got)
		}
		cv, err := b.store.Conversation(b.ctx, "c1", "")
		must(t, err)
		if cv.AssignedAt.IsZero() {
			t.Error("an auto-assigned conversation has no assigned_at")
		}
	})
}

// Instances assigning at once give each conversation once and never put
// an agent over capacity: the choice and the write are one transaction.
func TestAutoAssignConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		must(t, b.store.CreateAgent(b.ctx, "alice", "hash"))
		must(t, b.store.CreateAgent(b.ctx, "bob", "hash"))
		const convs, capacity, workers = 16, 5, 6
		var ids []int64
		for i := range convs {
			chatstoretest.Relay(t, b.db, fmt.Sprintf("k%02d", i), "hi")
			ids = append(ids, convID(t, b, fmt.Sprintf("k%02d", i)))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		given := 0
		errs := make(chan error, workers*convs)
		for range workers {
			wg.Go(func() {
				for _, id := range ids {
					res, err := b.store.AutoAssign(b.ctx, id, []string{"alice", "bob"}, capacity, time.Now())
					if err != nil {
						errs <- err
						return
					}
					if res.Assignee != "" {
						mu.Lock()
						given++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if given != 2*capacity {
			t.Errorf("%d assignments reported, want %d (each conversation once, each agent to capacity)", given, 2*capacity)
		}
		for _, a := range []string{"alice", "bob"} {
			if n := count(t, b.db, `SELECT COUNT(*) FROM conversations WHERE assignee = ?`, a); n != capacity {
				t.Errorf("%s holds %d conversations, want %d", a, n, capacity)
			}
		}
	})
}

// A breach is recorded once per wait, whoever asks and however often; the
// first-response target applies until an agent replies, the reply target
// after.
func TestRecordBreachesOncePerWait(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		chatstoretest.Relay(t, b.db, "late", "hello?")
		before := time.Now().Add(-time.Hour)
		if got, err := b.store.RecordBreaches(b.ctx, true, before, time.Now(), 10); err != nil || len(got) != 0 {
			t.Fatalf("breaches with a cutoff before the wait = %v, %v", got, err)
		}
		cutoff := time.Now().Add(time.Hour) // the wait is older than the target
		var wg sync.WaitGroup
		var mu sync.Mutex
		var recorded []string
		for range 4 {
			wg.Go(func() {
				got, err := b.store.RecordBreaches(b.ctx, true, cutoff, time.Now(), 10)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				recorded = append(recorded, got...)
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(recorded) != 1 || recorded[0] != "late" {
			t.Fatalf("four sweeps recorded %v, want [late] once", recorded)
		}
		if got, _ := b.store.RecordBreaches(b.ctx, false, cutoff, time.Now(), 10); len(got) != 0 {
			t.Fatalf("reply breaches before any agent reply = %v", got)
		}
		_, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "late", Author: "alice", Body: "here", ClientID: "a1", At: time.Now()})
		must(t, err)
		cv, err := b.store.Conversation(b.ctx, "late", "")
		must(t, err)
		if cv.AgentRepliedAt.IsZero() {
			t.Fatal("agent_replied_at not set by the reply")
		}
		chatstoretest.Relay(t, b.db, "late", "still there?")
		if got, _ := b.store.RecordBreaches(b.ctx, true, cutoff.Add(time.Hour), time.Now().Add(time.Hour), 10); len(got) != 0 {
			t.Fatalf("first-response breaches after an agent reply = %v", got)
		}
		got, err := b.store.RecordBreaches(b.ctx, false, cutoff.Add(time.Hour), time.Now().Add(time.Hour), 10)
		must(t, err)
		if len(got) != 1 {
			t.Fatalf("reply breach of the new wait = %v, want [late]", got)
		}
		must(t, b.store.SetState(b.ctx, "late", chatcore.StateResolved, time.Now()))
		cv, err = b.store.Conversation(b.ctx, "late", "")
		must(t, err)
		if !cv.AgentRepliedAt.IsZero() {
			t.Error("resolving kept agent_replied_at: a reopened conversation would skip its first response")
		}
	})
}

// An assignee who does not reply within the target loses the conversation,
// to Unassigned or to the next candidate (never herself), with an event in
// its history; one who replied keeps it.
func TestReturnLate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		for _, a := range []string{"alice", "bob"} {
			must(t, b.store.CreateAgent(b.ctx, a, "hash"))
		}
		chatstoretest.Relay(t, b.db, "r1", "anyone?")
		chatstoretest.Relay(t, b.db, "r2", "hello?")
		chatstoretest.Relay(t, b.db, "r3", "answered")
		for _, k := range []string{"r1", "r2", "r3"} {
			must(t, b.store.Assign(b.ctx, k, "alice", time.Now()))
		}
		_, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "r3", Author: "alice", Body: "done", ClientID: "x", At: time.Now()})
		must(t, err)
		q := chatcore.ReturnQuery{Cutoff: time.Now().Add(-time.Hour), At: time.Now(), Target: 15 * time.Minute, Capacity: 10, Limit: 10}
		if got, err := b.store.ReturnLate(b.ctx, q); err != nil || len(got) != 0 {
			t.Fatalf("returns before the target passed = %+v, %v", got, err)
		}
		q.Cutoff = time.Now().Add(time.Hour)
		q.At = q.Cutoff.Add(q.Target) // as a sweep's: the cutoff is its moment less the target
		q.Limit = 1
		got, err := b.store.ReturnLate(b.ctx, q)
		must(t, err)
		if len(got) != 1 || got[0].Key != "r1" || got[0].From != "alice" || got[0].To != "" {
			t.Fatalf("first return = %+v, want r1 from alice to nobody", got)
		}
		if a := assigneeOf(t, b, "r1"); a != "" {
			t.Errorf("r1 assignee = %q after the return, want none", a)
		}
		ev := got[0].Event
		last := count(t, b.db, `SELECT last_seq FROM conversations WHERE conversation_key = 'r1'`)
		if ev.SenderType != "system" || ev.Kind != chatcore.EventSLAReturned || ev.Seq != last || ev.ID == 0 {
			t.Errorf("event = %+v, want a system %s at seq %d", ev, chatcore.EventSLAReturned, last)
		}
		msgs, err := b.store.Messages(b.ctx, chatcore.MessageQuery{ConversationKey: "r1", Limit: 10})
		must(t, err)
		if m := msgs[len(msgs)-1]; m.Kind != chatcore.EventSLAReturned || string(m.Payload) == "" {
			t.Errorf("history ends with %+v, want the return event with its payload", m)
		}
		if n := count(t, b.db, `SELECT COUNT(*) FROM message_reply WHERE conversation_key = 'r1'`); n != 0 {
			t.Errorf("the event reached message_reply (%d rows)", n)
		}

		q.Candidates, q.Limit = []string{"alice", "bob"}, 10
		got, err = b.store.ReturnLate(b.ctx, q)
		must(t, err)
		if len(got) != 1 || got[0].Key != "r2" || got[0].To != "bob" {
			t.Fatalf("second return = %+v, want r2 handed to bob", got)
		}
		if a := assigneeOf(t, b, "r2"); a != "bob" {
			t.Errorf("r2 assignee = %q, want bob", a)
		}
		if a := assigneeOf(t, b, "r3"); a != "alice" {
			t.Errorf("r3, which alice answered, went to %q", a)
		}
		// bob got r2 now: his reply target starts at his assignment.
		if got, _ := b.store.ReturnLate(b.ctx, q); len(got) != 0 {
			t.Errorf("a third pass at the same moment returned %+v", got)
		}
	})
}

func TestSLARulesRoundTrip(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		if _, ok, err := b.store.SLARules(b.ctx); err != nil || ok {
			t.Fatalf("rules of a new database: ok %v, %v", ok, err)
		}
		for _, r := range []chatcore.SLARules{{FirstResponse: 5 * time.Minute, Reply: time.Hour}, {Reply: 30 * time.Second}} {
			must(t, b.store.SetSLARules(b.ctx, r))
			got, ok, err := b.store.SLARules(b.ctx)
			if err != nil || !ok || got != r {
				t.Fatalf("rules = %+v, %v, %v; want %+v", got, ok, err, r)
			}
		}
	})
}

// A conversation taken from an agent for want of a reply does not go
// straight back to her; others still do.
func TestAutoAssignPassesOverWhomItWasTakenFrom(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		must(t, b.store.CreateAgent(b.ctx, "alice", "hash"))
		chatstoretest.Relay(t, b.db, "back", "hello?")
		chatstoretest.Relay(t, b.db, "other", "hi")
		must(t, b.store.Assign(b.ctx, "back", "alice", time.Now()))
		cutoff := time.Now().Add(time.Hour)
		got, err := b.store.ReturnLate(b.ctx, chatcore.ReturnQuery{Cutoff: cutoff, At: cutoff.Add(time.Minute), Target: time.Minute, Capacity: 5, Limit: 10})
		must(t, err)
		if len(got) != 1 {
			t.Fatalf("returned %+v, want back", got)
		}
		res, err := b.store.AutoAssign(b.ctx, convID(t, b, "back"), []string{"alice"}, 5, time.Now())
		must(t, err)
		if res != (chatcore.AutoAssignResult{}) {
			t.Errorf("AutoAssign(back) = %+v, want neither alice nor full", res)
		}
		res, err = b.store.AutoAssign(b.ctx, convID(t, b, "other"), []string{"alice"}, 5, time.Now())
		must(t, err)
		if res.Assignee != "alice" {
			t.Errorf("AutoAssign(other) = %+v, want alice", res)
		}
	})
}
