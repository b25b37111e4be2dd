package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// On PostgreSQL an INSERT by the legacy writer wakes the listener, when
// the switch is on and only then; the listener survives the loss of its
// connection and wakes once when it is back (rows may have come
// meanwhile).
func TestNotifyWakesListener(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	ctx, cancel := context.WithCancel(context.Background())
	var wakes, listening atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := db.Store.Listen(ctx, func() { wakes.Add(1) }, 50*time.Millisecond, store.ListenEvents{
			Error:     func(err error) { t.Logf("listener: %v", err) },
			Listening: func() { listening.Add(1) },
		}); err != nil {
			t.Errorf("listen: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	// The backlog wake says the listener is in place.
	eventually(t, 10*time.Second, "the listener's first wake", func() bool { return wakes.Load() == 1 })
	if n := listening.Load(); n != 1 {
		t.Fatalf("listening reported %d times, want once", n)
	}

	// Off (the default): the writer's INSERT sends nothing. A LISTEN of
	// the test's own sees what the trigger sends, so "nothing" is checked
	// at the source rather than by waiting on the listener.
	if n := notifications(t, db, func() { db.Insert(t, "k", "off") }); n != 0 {
		t.Fatalf("%d notifications with the switch off", n)
	}
	if was, err := db.Store.SetNotify(ctx, true); err != nil || was {
		t.Fatalf("turn on: was on %v, %v; want off before", was, err)
	}
	// One notification per writer transaction, however many rows.
	if n := notifications(t, db, func() {
		if _, err := db.Raw.Exec(`INSERT INTO message_sync (conversation_key, body) VALUES ('a', '1'), ('b', '2'), ('c', '3')`); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Fatalf("%d notifications for one three-row INSERT, want 1", n)
	}
	eventually(t, 10*time.Second, "a wake for the insert", func() bool { return wakes.Load() >= 2 })

	// The listener's connection dies (a failover, an idle timeout of a
	// proxy): it reconnects and wakes for the backlog.
	before := wakes.Load()
	if _, err := db.Raw.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND query ILIKE 'listen%'`); err != nil {
		t.Fatal(err)
	}
	// (The test's own end markers wake the listener too, so the reconnect
	// is told by the Listening event, and the backlog wake follows it.)
	eventually(t, 10*time.Second, "LISTEN again after the reconnect", func() bool { return listening.Load() == 2 })
	eventually(t, 10*time.Second, "a wake after the reconnect", func() bool { return wakes.Load() > before })
	before = wakes.Load()
	db.Insert(t, "k", "after the reconnect")
	eventually(t, 10*time.Second, "a wake for an insert after the reconnect", func() bool { return wakes.Load() > before })

	if was, err := db.Store.SetNotify(ctx, false); err != nil || !was {
		t.Fatalf("turn off: was on %v, %v; want on before", was, err)
	}
	if n := notifications(t, db, func() { db.Insert(t, "k", "off again") }); n != 0 {
		t.Fatalf("%d notifications after the switch went off", n)
	}
}

// notifications counts what the trigger sends while fn runs, on a LISTEN
// connection of the test's own. NOTIFY is delivered at commit, before the
// writer's INSERT returns, in commit order: a NOTIFY of the test's after fn
// marks the end.
func notifications(t *testing.T, db *testdb.DB, fn func()) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN `+store.NotifyChannel); err != nil {
		t.Fatal(err)
	}
	fn()
	if _, err := db.Raw.ExecContext(ctx, `SELECT pg_notify('`+store.NotifyChannel+`', 'end')`); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		note, err := conn.WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("wait for the end marker: %v", err)
		}
		if note.Payload == "end" {
			return n
		}
		n++
	}
}

func eventually(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
