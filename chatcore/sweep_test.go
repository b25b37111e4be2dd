package chatcore_test

import (
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// A message committed by an instance that died before publishing it (so:
// written, never Published) still reaches a connected client, through the
// sweep, within a few seconds.
func TestSweepDeliversUnpublished(t *testing.T) {
	t.Parallel()
	for _, d := range chatstoretest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{dialect: d}) // SweepInterval 200ms
			chatstoretest.Relay(t, b.db, "old", "before start")
			alice := b.login(t, "alice")
			w := alice.dial()
			start := time.Now()
			chatstoretest.Relay(t, b.db, "order-7", "is anyone there?")
			f := w.await(5*time.Second, func(f serverFrame) bool {
				return f.Type == "conversation" && f.conversation(t).Key == "order-7"
			})
			cv := f.conversation(t)
			t.Logf("unpublished message reached the socket after %v", f.at.Sub(start))
			if cv.LastSeq != 1 || cv.Unread != 1 || cv.LastMessage == nil || cv.LastMessage.Body != "is anyone there?" || cv.State != "open" {
				t.Fatalf("conversation frame = %+v", cv)
			}
			// It is pushed once, not on every sweep; the next change is
			// pushed again, with the agent's read marker.
			if err := b.store.MarkRead(b.ctx, "alice", "order-7", 1); err != nil {
				t.Fatal(err)
			}
			chatstoretest.Relay(t, b.db, "order-7", "hello?")
			f = w.await(5*time.Second, func(f serverFrame) bool { return f.Type == "conversation" })
			if cv := f.conversation(t); cv.Key != "order-7" || cv.LastSeq != 2 || cv.ReadSeq != 1 || cv.Unread != 1 {
				t.Fatalf("second conversation frame = %+v", cv)
			}
		})
	}
}
