package chatcore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// testClock is the wall clock moved ahead by what a test advances it, so
// that the database's times (the relay's, real) and the Core's agree
// until the test says time passed.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

func (b *bundle) assignee(t testing.TB, key string) string {
	t.Helper()
	cv, err := b.store.Conversation(b.ctx, key, "")
	if err != nil {
		t.Fatal(err)
	}
	return cv.Assignee
}

func (b *bundle) holds(t testing.TB, agent string) int64 {
	t.Helper()
	var n int64
	if err := b.db.Raw(`SELECT COUNT(*) FROM conversations WHERE assignee = ? AND state = 'open'`, agent).Row().Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A new conversation goes to an online agent who is not away, up to her
// capacity; an agent without a socket gets none, and one back from away
// gets what waits.
func TestAutoAssignGoesToOnlineAgent(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) {
		o.Assignment = chatcore.Assignment{Enabled: true, Capacity: 2}
	}})
	alice := b.login(t, "alice")
	b.login(t, "bob") // logged in, no console open: offline
	carol := b.login(t, "carol")
	if res := carol.do("POST", "/api/me/away", map[string]bool{"away": true}, nil); res.status != 200 {
		t.Fatalf("away: %d %s", res.status, res.body)
	}
	var me struct{ Away bool }
	carol.do("GET", "/api/me", nil, nil).decode(t, &me)
	if !me.Away {
		t.Fatal("GET /api/me does not say carol is away")
	}
	if res := carol.do("POST", "/api/me/away", map[string]string{"away": "yes"}, nil); res.status != 400 {
		t.Errorf("away \"yes\": %d, want 400", res.status)
	}
	ws := alice.dial()
	carolWS := carol.dial()
	eventually(t, 5*time.Second, "alice and carol online", func() bool {
		on, _ := b.core.Online(b.ctx)
		return len(on) == 2
	})
	for _, k := range []string{"n1", "n2", "n3"} {
		if err := b.core.Publish(b.ctx, chatstoretest.Relay(t, b.db, k, "hello?")); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "alice to hold two conversations", func() bool { return b.holds(t, "alice") == 2 })
	ws.await(5*time.Second, func(f serverFrame) bool {
		c := f.conversation(t)
		return f.Type == "conversation" && c.Assignee != nil && *c.Assignee == "alice"
	})
	if n := b.holds(t, "bob") + b.holds(t, "carol"); n != 0 {
		t.Fatalf("offline bob and away carol hold %d conversations", n)
	}
	if a := b.assignee(t, "n3"); a != "" {
		t.Fatalf("n3, over alice's capacity, went to %q", a)
	}
	if res := carol.do("POST", "/api/me/away", map[string]bool{"away": false}, nil); res.status != 200 {
		t.Fatalf("back: %d %s", res.status, res.body)
	}
	eventually(t, 10*time.Second, "n3 to go to carol, back from away", func() bool { return b.assignee(t, "n3") == "carol" })
	carolWS.await(5*time.Second, func(f serverFrame) bool {
		c := f.conversation(t)
		return f.Type == "conversation" && c.Key == "n3" && c.Assignee != nil && *c.Assignee == "carol"
	})
	if got := b.core.Stats().SLA.AutoAssigned; got != 3 {
		t.Errorf("AutoAssigned = %d, want 3", got)
	}
}
