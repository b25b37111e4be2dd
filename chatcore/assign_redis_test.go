package chatcore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatcore/broker"
	"github.com/syncd-dev/syncd/chatcore/presence"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
	schema "github.com/syncd-dev/syncd/sql"
)

// Two instances over Redis, alice's console on A and bob's on B, both
// assigning and checking the rules at once: each conversation is assigned
// once, nobody goes over capacity, and each late conversation is returned
// and its breach counted by one instance, with one event in its history.
func TestAutoAssignAndSLAAcrossInstances(t *testing.T) {
	t.Parallel()
	rc := redisClient(t, redisAddr())
	if err := rc.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", redisAddr(), err)
	}
	shared := &bundle{db: chatstoretest.Open(t, schema.MySQL)}
	ch := channel()
	clock := &testClock{}
	const capacity = 3
	start := func(name string) *bundle {
		p, err := presence.NewRedis(rc, presence.RedisOptions{Prefix: ch + ":presence", Instance: name, TTL: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return setup(t, setupOpts{db: shared.db, mutate: func(o *chatcore.Options) {
			o.Instance = name
			o.Broker = broker.NewRedis(rc, broker.RedisOptions{Channel: ch, MaxBackoff: 200 * time.Millisecond})
			o.Presence = p
			o.Assignment = chatcore.Assignment{Enabled: true, Capacity: capacity}
			o.SLA = chatcore.SLARules{FirstResponse: 5 * time.Minute, Reply: 10 * time.Minute}
			o.Now = clock.now
			o.SweepInterval = 50 * time.Millisecond // both instances race for the same rows
		}})
	}
	a, b := start("A"), start("B")
	wsA := a.login(t, "alice").dial()
	wsB := b.login(t, "bob").dial()
	for _, in := range []*bundle{a, b} {
		eventually(t, 10*time.Second, "both agents online on each instance", func() bool {
			on, _ := in.core.Online(in.ctx)
			return slices.Equal(on, []string{"alice", "bob"})
		})
	}
	const convs = 8
	for i := range convs {
		if err := a.core.Publish(a.ctx, chatstoretest.Relay(t, shared.db, fmt.Sprintf("c%d", i), "hello?")); err != nil {
			t.Fatal(err)
		}
	}
	assigned := func() int64 { return a.core.Stats().SLA.AutoAssigned + b.core.Stats().SLA.AutoAssigned }
	eventually(t, 15*time.Second, "both agents at capacity", func() bool {
		return a.holds(t, "alice") == capacity && a.holds(t, "bob") == capacity
	})
	if n := assigned(); n != 2*capacity {
		t.Fatalf("the instances made %d assignments, want %d: a conversation was assigned twice", n, 2*capacity)
	}
	for _, ws := range []*wsClient{wsA, wsB} {
		ws.await(5*time.Second, func(f serverFrame) bool { return f.Type == "conversation" && f.conversation(t).Assignee != nil })
	}

	clock.advance(11 * time.Minute) // every assignee misses the reply target
	returned := func() int64 { return a.core.Stats().SLA.Returned + b.core.Stats().SLA.Returned }
	eventually(t, 15*time.Second, "the late conversations to be returned", func() bool { return returned() >= 2*capacity })
	eventually(t, 15*time.Second, "every wait's breach to be counted", func() bool {
		return a.core.Stats().SLA.FirstResponseBreaches+b.core.Stats().SLA.FirstResponseBreaches == convs
	})
	// What was returned is given again, never to whom it was taken from.
	eventually(t, 15*time.Second, "both agents at capacity again", func() bool {
		return a.holds(t, "alice") == capacity && a.holds(t, "bob") == capacity
	})
	type ev struct {
		ConversationKey string
		Payload         string
	}
	var events []ev
	if err := shared.db.Raw(`SELECT conversation_key, payload FROM chat_messages WHERE kind = ? ORDER BY id`, chatcore.EventSLAReturned).Scan(&events).Error; err != nil {
		t.Fatal(err)
	}
	if int64(len(events)) != returned() {
		t.Fatalf("%d return events in history, %d returns counted: one was written or counted twice", len(events), returned())
	}
	perConv := map[string]int{}
	for _, e := range events {
		perConv[e.ConversationKey]++
		var p struct{ From string }
		if err := json.Unmarshal([]byte(e.Payload), &p); err != nil {
			t.Fatal(err)
		}
		if now := a.assignee(t, e.ConversationKey); now == p.From && perConv[e.ConversationKey] == 1 {
			t.Errorf("%s went back to %s, who had just lost it", e.ConversationKey, p.From)
		}
	}
	for k, n := range perConv {
		if n > 1 {
			t.Errorf("%s has %d return events at one moment; the new assignee's target started at her assignment", k, n)
		}
	}
	if got := a.core.Stats().SLA.ReplyBreaches + b.core.Stats().SLA.ReplyBreaches; got != 0 {
		t.Errorf("reply breaches = %d, before any agent replied", got)
	}
}
