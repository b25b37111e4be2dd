package chatcore_test

import (
	"context"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
	schema "github.com/syncd-dev/syncd/sql"
)

// gatedMarkers is a console store whose read-marker query waits for open:
// a database that has become slow.
type gatedMarkers struct {
	chatcore.Store
	entered chan struct{}
	open    chan struct{}
}

func (g gatedMarkers) ReadMarkers(ctx context.Context, keys, usernames []string) (map[chatcore.ReadKey]int64, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Store.ReadMarkers(ctx, keys, usernames)
}

// A conversation change from another instance is rendered with a database
// query; while that query hangs, the messages behind it on the broker still
// reach the agents, and the change follows once the query returns.
func TestSlowReadMarkersHoldUpNoMessages(t *testing.T) {
	t.Parallel()
	shared := &bundle{db: chatstoretest.Open(t, schema.SQLite)}
	broker := chatcore.NewMemoryBroker()
	gate := gatedMarkers{entered: make(chan struct{}, 1), open: make(chan struct{})}
	a := setup(t, setupOpts{db: shared.db, mutate: func(o *chatcore.Options) {
		o.Instance, o.Broker, o.SweepInterval = "A", broker, time.Hour
		gate.Store = o.Store
		o.Store = gate
	}})
	b := setup(t, setupOpts{db: shared.db, mutate: func(o *chatcore.Options) {
		o.Instance, o.Broker, o.SweepInterval = "B", broker, time.Hour
	}})
	chatstoretest.Relay(t, shared.db, "k", "hi")
	ws := a.login(t, "alice").dial()
	bobOnB := b.login(t, "bob")
	awaitBroker(t, b, ws)

	if res := bobOnB.do("POST", "/api/conversations/k/assign", map[string]any{"assignee": "bob"}, nil); res.status != 200 {
		t.Fatalf("assign on B: %d %s", res.status, res.body)
	}
	select {
	case <-gate.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("A never rendered B's conversation change")
	}
	if err := b.core.Publish(b.ctx, []chat.Message{msg("k", 2, "behind the change")}); err != nil {
		t.Fatal(err)
	}
	// Well under the 5 s the read-marker query may take.
	f := ws.await(2*time.Second, func(f serverFrame) bool { return f.Type == "message" })
	if m := f.message(t); m.ConversationKey != "k" || m.Seq != 2 {
		t.Fatalf("message frame on A = %+v", m)
	}
	close(gate.open)
	f = ws.await(5*time.Second, func(f serverFrame) bool { return f.Type == "conversation" })
	if c := f.conversation(t); c.Key != "k" || c.Assignee == nil || *c.Assignee != "bob" {
		t.Fatalf("conversation frame on A = %+v", c)
	}
}
