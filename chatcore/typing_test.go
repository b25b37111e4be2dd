package chatcore_test

import (
	"context"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
	schema "github.com/syncd-dev/syncd/sql"
)

// send writes a client frame.
func (w *wsClient) send(v any) {
	w.t.Helper()
	if err := w.ws.WriteJSON(v); err != nil {
		w.t.Fatalf("send %v: %v", v, err)
	}
}

// watch tells the server which conversation the console shows, and waits
// until it has read it (frames are read in order: the pong comes after).
func (w *wsClient) watch(key string) {
	w.t.Helper()
	w.send(map[string]string{"type": "watch", "conversation_key": key})
	w.send(map[string]string{"type": "ping"})
	w.await(5*time.Second, func(f serverFrame) bool { return f.Type == "pong" })
}

func typing(key string, on bool) map[string]any {
	return map[string]any{"type": "typing", "conversation_key": key, "typing": on}
}

func isTyping(f serverFrame) bool { return f.Type == "typing" }

// A typing frame reaches the sockets that watch its conversation, with
// who types and for how long it holds; a stop follows it; a stop without
// a start, and the sockets watching another conversation, get nothing.
func TestTypingReachesWatchers(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	alice := b.login(t, "alice").dial()
	bob := b.login(t, "bob").dial()
	carol := b.login(t, "carol").dial()
	bob.watch("order-1")
	carol.watch("order-2")

	alice.send(typing("order-9", false)) // never started: dropped
	alice.send(typing("order-1", true))
	f := bob.await(5*time.Second, isTyping)
	if f.ConversationKey != "order-1" || f.Username != "alice" || !f.Typing || f.ExpiresInMS != chatcore.TypingTTL.Milliseconds() {
		t.Fatalf("bob's typing frame = %+v", f)
	}
	alice.send(typing("order-1", false))
	if f := bob.await(5*time.Second, isTyping); f.ConversationKey != "order-1" || f.Typing {
		t.Fatalf("bob's second typing frame = %+v, want alice's stop", f)
	}
	// carol watches order-2: her first typing frame is the one for it.
	alice.send(typing("order-2", true))
	if f := carol.await(5*time.Second, isTyping); f.ConversationKey != "order-2" {
		t.Fatalf("carol's first typing frame = %+v, want order-2's", f)
	}
	// A console that moves to another conversation stops hearing the first.
	bob.watch("order-3")
	alice.send(typing("order-1", true))
	alice.send(typing("order-3", true))
	if f := bob.await(5*time.Second, isTyping); f.ConversationKey != "order-3" {
		t.Fatalf("bob, now on order-3, heard %+v", f)
	}
	// Nobody hears their own socket.
	alice.watch("order-3")
	alice.send(typing("order-3", false))
	bob.await(5*time.Second, func(f serverFrame) bool { return isTyping(f) && !f.Typing })
	alice.send(map[string]string{"type": "ping"})
	if f := alice.await(5*time.Second, func(f serverFrame) bool { return isTyping(f) || f.Type == "pong" }); f.Type != "pong" {
		t.Fatalf("alice heard her own typing frame: %+v", f)
	}
}

// One socket cannot flood the others: past a burst, typing frames pass at
// the refill rate and the rest are dropped and counted.
func TestTypingIsRateLimited(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	alice := b.login(t, "alice").dial()
	bob := b.login(t, "bob").dial()
	bob.watch("order-1")
	start := time.Now()
	const sent = 50
	for range sent {
		alice.send(typing("order-1", true))
	}
	alice.send(typing("order-1", false))
	heard := 0
	for {
		f := bob.await(5*time.Second, isTyping)
		if !f.Typing {
			break
		}
		heard++
	}
	// At most the burst of 4 and one per second since the first frame.
	limit := 4 + int(time.Since(start)/time.Second) + 1
	if heard < 1 || heard > limit {
		t.Fatalf("bob heard %d of %d typing frames, want 1 to %d", heard, sent, limit)
	}
	if got := b.core.Stats().TypingDropped; got != int64(sent-heard) {
		t.Errorf("TypingDropped = %d, want %d", got, sent-heard)
	}
}

// Across instances over Redis: alice types on A, bob watches on B and
// sees it, then its stop.
func TestTypingAcrossInstances(t *testing.T) {
	t.Parallel()
	rc := redisClient(t, redisAddr())
	if err := rc.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", redisAddr(), err)
	}
	shared := &bundle{db: chatstoretest.Open(t, schema.MySQL)}
	ch := channel()
	a := instance(t, "A", shared, rc, ch, time.Hour)
	b := instance(t, "B", shared, rc, ch, time.Hour)
	alice := a.login(t, "alice").dial()
	bob := b.login(t, "bob").dial()
	awaitBroker(t, a, bob)
	bob.watch("order-1")

	alice.send(typing("order-1", true))
	f := bob.await(5*time.Second, isTyping)
	if f.ConversationKey != "order-1" || f.Username != "alice" || !f.Typing {
		t.Fatalf("typing frame on B = %+v", f)
	}
	alice.send(typing("order-1", false))
	if f := bob.await(5*time.Second, isTyping); f.Typing || f.Username != "alice" {
		t.Fatalf("second typing frame on B = %+v, want alice's stop", f)
	}
}
