package chatcore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatcore/broker"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
	schema "github.com/syncd-dev/syncd/sql"
)

// gatedMarkers is a console store whose read-marker queries about the
// conversation held wait for open: a database that has become slow.
type gatedMarkers struct {
	chatcore.DB
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
	return g.DB.ReadMarkers(ctx, keys, usernames)
}

// gatedPair starts instances A and B on one SQLite database and one
// in-process broker, without sweeps, with conversations j and k; A's
// read-marker queries about held wait for the gate. buffer, when not 0, is
// A's PublishBuffer.
func gatedPair(t *testing.T, held string, buffer int) (a, b *bundle, gate gatedMarkers) {
	t.Helper()
	db := chatstoretest.Open(t, schema.SQLite)
	broker := broker.NewMemory()
	gate = gatedMarkers{held: held, entered: make(chan struct{}, 1), open: make(chan struct{})}
	a = setup(t, setupOpts{db: db, mutate: func(o *chatcore.Options) {
		o.Instance, o.Broker, o.SweepInterval = "A", broker, time.Hour
		o.PublishBuffer = buffer
		gate.DB = o.DB
		o.DB = gate
	}})
	b = setup(t, setupOpts{db: db, mutate: func(o *chatcore.Options) {
		o.Instance, o.Broker, o.SweepInterval = "B", broker, time.Hour
	}})
	chatstoretest.Relay(t, db, "j", "hi")
	chatstoretest.Relay(t, db, "k", "hi")
	return a, b, gate
}

// watchOnA creates agent name, gives it a socket on A, and waits until what
// B publishes reaches that socket.
func watchOnA(t *testing.T, a, b *bundle, name string) *wsClient {
	t.Helper()
	ws := a.login(t, name).dial()
	awaitBroker(t, b, ws)
	return ws
}

// signIn logs an existing agent in on b.
func signIn(t *testing.T, b *bundle, name string) *client {
	t.Helper()
	c := b.client(t)
	if res := c.do("POST", "/api/login", map[string]string{"username": name, "password": name + "-password"}, nil); res.status != 200 {
		t.Fatalf("login %s: %d %s", name, res.status, res.body)
	}
	return c
}

func (g gatedMarkers) awaitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("A never rendered the conversation change")
	}
}

func assign(t *testing.T, c *client, key, who string) {
	t.Helper()
	if res := c.do("POST", "/api/conversations/"+key+"/assign", map[string]any{"assignee": who, "take_over": true}, nil); res.status != 200 {
		t.Fatalf("assign %s to %s: %d %s", key, who, res.status, res.body)
	}
}

// A conversation change from another instance is rendered with a database
// query; while that query hangs, the messages behind it on the broker still
// reach the agents, and the change follows once the query returns.
func TestSlowReadMarkersHoldUpNoMessages(t *testing.T) {
	t.Parallel()
	a, b, gate := gatedPair(t, "k", 0)
	ws := watchOnA(t, a, b, "alice")
	assign(t, b.login(t, "bob"), "k", "bob")
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

// Changes that waited in A's queue must not undo what happened since: the
// last frame of a conversation is its state in the database, whatever the
// order the changes were made, queued and rendered in, here or on B.
func TestQueuedChangesShowTheLatestState(t *testing.T) {
	t.Parallel()
	a, b, gate := gatedPair(t, "j", 0)
	ws := watchOnA(t, a, b, "bob")
	bobOnB, carolOnB, daveOnA := signIn(t, b, "bob"), b.login(t, "carol"), a.login(t, "dave")

	// A's renderer is held on a change of j ...
	assign(t, carolOnB, "j", "carol")
	gate.awaitEntered(t)
	// ... while two changes of k queue behind it: bob's read (for his
	// sockets only), then carol taking k (for everyone). A message B
	// publishes after them arrives once both are queued: the broker keeps
	// order, and A queues a change before it handles the next event.
	if res := bobOnB.do("POST", "/api/conversations/k/read", map[string]int{"seq": 1}, nil); res.status != 204 {
		t.Fatalf("read k on B: %d %s", res.status, res.body)
	}
	assign(t, carolOnB, "k", "carol")
	if err := b.core.Publish(b.ctx, []chat.Message{msg("k", 2, "after the changes")}); err != nil {
		t.Fatal(err)
	}
	ws.await(5*time.Second, func(f serverFrame) bool { return f.Type == "message" && f.message(t).Seq == 2 })
	// Then dave takes k on A itself; A shows it after what is queued.
	assign(t, daveOnA, "k", "dave")
	close(gate.open)

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

// With the renderer held and its queue (of one) full, further changes are
// dropped and counted, and nothing blocks the broker.
func TestChangeQueueFullDropsAndCounts(t *testing.T) {
	t.Parallel()
	a, b, gate := gatedPair(t, "k", 1)
	ws := watchOnA(t, a, b, "alice")
	bob := b.login(t, "bob")
	assign(t, bob, "k", "bob")
	gate.awaitEntered(t) // the renderer holds the first change
	for _, who := range []string{"alice", "bob", "alice"} {
		assign(t, bob, "k", who) // the first waits in the queue, the rest are dropped
	}
	eventually(t, 5*time.Second, "dropped changes to be counted", func() bool { return a.core.Stats().ChangesDropped >= 2 })
	if err := b.core.Publish(b.ctx, []chat.Message{msg("k", 2, "still flowing")}); err != nil {
		t.Fatal(err)
	}
	ws.await(2*time.Second, func(f serverFrame) bool { return f.Type == "message" && f.message(t).Seq == 2 })
	close(gate.open)
}
