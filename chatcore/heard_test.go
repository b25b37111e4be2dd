package chatcore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
	schema "github.com/syncd-dev/syncd/sql"
)

// gatedMarkers is a console store whose read-marker queries about the
// conversation held wait for open: a database that has become slow.
type gatedMarkers struct {
	chatcore.Store
	held    string
	entered chan struct{}
	open    chan struct{}
}

func (g gatedMarkers) ReadMarkers(ctx context.Context, keys, usernames []string) (map[chatcore.ReadKey]int64, error) {
	if slices.Contains(keys, g.held) {
		select {
		case g.entered <- struct{}{}:
		default:
		}
		select {
		case <-g.open:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Store.ReadMarkers(ctx, keys, usernames)
}

// gatedPair starts instances A and B on one SQLite database and one
// in-process broker, without sweeps; A's read-marker queries about held
// wait for the gate. buffer, when not 0, is A's PublishBuffer.
func gatedPair(t *testing.T, held string, buffer int) (a, b *bundle, gate gatedMarkers) {
	t.Helper()
	db := chatstoretest.Open(t, schema.SQLite)
	broker := chatcore.NewMemoryBroker()
	gate = gatedMarkers{held: held, entered: make(chan struct{}, 1), open: make(chan struct{})}
	a = setup(t, setupOpts{db: db, mutate: func(o *chatcore.Options) {
		o.Instance, o.Broker, o.SweepInterval = "A", broker, time.Hour
		o.PublishBuffer = buffer
		gate.Store = o.Store
		o.Store = gate
	}})
	b = setup(t, setupOpts{db: db, mutate: func(o *chatcore.Options) {
		o.Instance, o.Broker, o.SweepInterval = "B", broker, time.Hour
	}})
	return a, b, gate
}

func (g gatedMarkers) awaitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("A never rendered B's conversation change")
	}
}

// A conversation change from another instance is rendered with a database
// query; while that query hangs, the messages behind it on the broker still
// reach the agents, and the change follows once the query returns.
func TestSlowReadMarkersHoldUpNoMessages(t *testing.T) {
	t.Parallel()
	a, b, gate := gatedPair(t, "k", 0)
	chatstoretest.Relay(t, a.db, "k", "hi")
	ws := a.login(t, "alice").dial()
	bobOnB := b.login(t, "bob")
	awaitBroker(t, b, ws)

	if res := bobOnB.do("POST", "/api/conversations/k/assign", map[string]any{"assignee": "bob"}, nil); res.status != 200 {
		t.Fatalf("assign on B: %d %s", res.status, res.body)
	}
	gate.awaitEntered(t)
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

// Changes heard from another instance that waited in A's queue must not
// undo what A has shown since: the last frame of a conversation is its
// state in the database, whatever order the changes were queued, rendered
// and delivered in.
func TestHeardChangesShowTheLatestState(t *testing.T) {
	t.Parallel()
	a, b, gate := gatedPair(t, "j", 0)
	chatstoretest.Relay(t, a.db, "j", "hi")
	chatstoretest.Relay(t, a.db, "k", "hi")
	bobOnB, carolOnB := b.login(t, "bob"), b.login(t, "carol")
	bobOnA := a.client(t)
	if res := bobOnA.do("POST", "/api/login", map[string]string{"username": "bob", "password": "bob-password"}, nil); res.status != 200 {
		t.Fatalf("login bob on A: %d %s", res.status, res.body)
	}
	daveOnA := a.login(t, "dave")
	ws := bobOnA.dial()
	awaitBroker(t, b, ws)

	// A's renderer is held on a change of j ...
	if res := carolOnB.do("POST", "/api/conversations/j/assign", map[string]any{"assignee": "carol"}, nil); res.status != 200 {
		t.Fatalf("assign j on B: %d %s", res.status, res.body)
	}
	gate.awaitEntered(t)
	// ... while two changes of k queue behind it: bob's read (for his
	// sockets only), then carol taking k (for everyone) ...
	if res := bobOnB.do("POST", "/api/conversations/k/read", map[string]int{"seq": 1}, nil); res.status != 204 {
		t.Fatalf("read k on B: %d %s", res.status, res.body)
	}
	if res := carolOnB.do("POST", "/api/conversations/k/assign", map[string]any{"assignee": "carol"}, nil); res.status != 200 {
		t.Fatalf("assign k on B: %d %s", res.status, res.body)
	}
	time.Sleep(200 * time.Millisecond) // for both to reach A's queue
	// ... and then dave takes k on A itself: committed at once, shown once
	// the frames being rendered are out.
	assigned := make(chan response, 1)
	go func() {
		assigned <- daveOnA.do("POST", "/api/conversations/k/assign", map[string]any{"assignee": "dave"}, nil)
	}()
	time.Sleep(200 * time.Millisecond)
	close(gate.open)
	if res := <-assigned; res.status != 200 {
		t.Fatalf("assign k on A: %d %s", res.status, res.body)
	}

	var last *wireConversation
	for {
		f, err := ws.read(time.Second)
		if err != nil {
			break
		}
		if f.Type != "conversation" {
			continue
		}
		if c := f.conversation(t); c.Key == "k" {
			last = &c
		}
	}
	if last == nil || last.Assignee == nil || *last.Assignee != "dave" || last.ReadSeq != 1 {
		t.Fatalf("bob's last frame of k on A = %+v, want assignee dave and read_seq 1", last)
	}
}

// With the renderer held and its queue full, further changes are dropped
// and counted, and nothing blocks the broker.
func TestHeardQueueFullDropsAndCounts(t *testing.T) {
	t.Parallel()
	a, b, gate := gatedPair(t, "k", 1)
	chatstoretest.Relay(t, a.db, "k", "hi")
	ws := a.login(t, "alice").dial()
	bob := b.login(t, "bob")
	awaitBroker(t, b, ws)
	assign := func(who string) {
		t.Helper()
		if res := bob.do("POST", "/api/conversations/k/assign", map[string]any{"assignee": who}, nil); res.status != 200 {
			t.Fatalf("assign on B: %d %s", res.status, res.body)
		}
	}
	assign("bob")
	gate.awaitEntered(t) // the renderer holds the first change
	for range 3 {        // one fits in the queue, two do not
		assign("alice")
		assign("bob")
	}
	eventually(t, 5*time.Second, "dropped changes to be counted", func() bool { return a.core.Stats().HeardDropped > 0 })
	if err := b.core.Publish(b.ctx, []chat.Message{msg("k", 2, "still flowing")}); err != nil {
		t.Fatal(err)
	}
	ws.await(2*time.Second, func(f serverFrame) bool { return f.Type == "message" && f.message(t).Seq == 2 })
	close(gate.open)
}
