package chatcore_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
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

// failingSweep is a console store whose sweep reads fail while down is set:
// a database outage as the sweep sees it.
type failingSweep struct {
	chatcore.DB
	down *atomic.Bool
}

func (f failingSweep) ChangedConversations(ctx context.Context, after chatcore.SweepCursor, limit int) ([]chatcore.Conversation, error) {
	if f.down.Load() {
		return nil, errors.New("dial tcp: connection refused")
	}
	return f.DB.ChangedConversations(ctx, after, limit)
}

// An outage of the sweep is one warning, not one every interval, and its
// end is logged with how long it lasted.
func TestSweepOutageLoggedOnce(t *testing.T) {
	t.Parallel()
	var logs lockedLog
	var down atomic.Bool
	down.Store(true)
	setup(t, setupOpts{mutate: func(o *chatcore.Options) {
		o.SweepInterval = 20 * time.Millisecond
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.DB = failingSweep{DB: o.DB, down: &down}
	}})
	// Three failed sweeps (the later ones at debug level), then the end of
	// the outage.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "failures=3") {
		if time.Now().After(deadline) {
			t.Fatalf("not three failed sweeps:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	down.Store(false)
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "console sweep recovered") {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), `level=WARN msg="console sweep failed`); n != 1 {
		t.Errorf("%d failure warnings for one outage, want 1:\n%s", n, logs.String())
	}
}

type lockedLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
