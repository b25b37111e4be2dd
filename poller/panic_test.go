package poller

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/store"
)

// boomConverter is the bridge, except that a batch holding a row whose
// body is "boom" panics, as a bug would.
type boomConverter struct{ inner Converter }

func (b boomConverter) Convert(ctx context.Context, rows []store.Row) store.Outcome {
	for _, r := range rows {
		if r.Body == "boom" {
			var m map[string]int
			m["boom"]++ // assignment to entry in nil map
		}
	}
	return b.inner.Convert(ctx, rows)
}

// boomStore is the real store, except that a commit relaying a row whose
// body is "boom" panics inside its transaction, as the nil conversation
// of a key the database merged once did.
type boomStore struct{ *store.Store }

func (b boomStore) Commit(ctx context.Context, c *store.Claim, out store.Outcome) ([]chat.Message, error) {
	for _, r := range out.Relayed {
		if r.Message.Body == "boom" {
			var cu *struct{ count int }
			cu.count++ // nil pointer dereference
		}
	}
	return b.Store.Commit(ctx, c, out)
}

// A panic in a batch costs only the rows that cause it: they fail with the
// panic as their reason, every other row of the batch is relayed in order
// with no attempt counted, and the panic is logged and counted.
func TestPanicFailsOnlyItsRows(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(*store.Store) Store
		conv  Converter
	}{
		{"in the conversion", func(s *store.Store) Store { return s }, boomConverter{bridge.New(bridge.Options{})}},
		{"in the commit", func(s *store.Store) Store { return boomStore{s} }, bridge.New(bridge.Options{})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := testdb.New(t, "sqlite")
			keys := []string{"conv-a", "conv-a", "conv-a", "conv-b", "conv-c"}
			bodies := []string{"hello", "boom", "after the boom", "hi", "hey"}
			var ids []int64
			for i, k := range keys {
				ids = append(ids, db.Insert(t, k, bodies[i]))
			}
			var logs strings.Builder
			m := NewMetrics(prometheus.NewRegistry())
			p, err := New(Options{Store: tc.store(db.Store), Locker: lock.NewLocal(), Converter: tc.conv,
				Metrics: m, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			c, err := db.Store.Claim(ctx, store.Shard{Index: 0, Count: 1}, "test", 10, time.Minute)
			if err != nil || len(c.Rows) != len(ids) {
				t.Fatalf("claim: %d rows, %v", len(c.Rows), err)
			}
			_ = p.relay(ctx, p.log, c)
			for i, id := range ids {
				var status, lastErr string
				var attempts int
				if err := db.Raw.QueryRow(`SELECT status, attempts, COALESCE(last_error, '') FROM message_sync WHERE id = ?`, id).
					Scan(&status, &attempts, &lastErr); err != nil {
					t.Fatal(err)
				}
				want := "sent"
				if bodies[i] == "boom" {
					want = "failed"
					if !strings.Contains(lastErr, "panic") || !strings.Contains(lastErr, "bug in syncd") {
						t.Errorf("the row that panics failed with %q; want the panic named", lastErr)
					}
				}
				if status != want || attempts != 0 {
					t.Errorf("row %d (%s %q): %s with %d attempts, want %s with none", i, keys[i], bodies[i], status, attempts, want)
				}
			}
			if n := testutil.ToFloat64(m.Panics.WithLabelValues("batch")); n != 1 {
				t.Errorf("batch panics counted %v, want 1", n)
			}
			if n := testutil.ToFloat64(m.Panics.WithLabelValues("row")); n != 1 {
				t.Errorf("row panics counted %v, want 1 (only the culprit panics on its own)", n)
			}
			if !strings.Contains(logs.String(), "relay panicked") || !strings.Contains(logs.String(), "stack=") {
				t.Errorf("the panic is not logged with its stack:\n%s", logs.String())
			}
			var seqs []string
			rows, err := db.Raw.Query(`SELECT body FROM chat_messages WHERE conversation_key = 'conv-a' ORDER BY seq`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var b string
				_ = rows.Scan(&b)
				seqs = append(seqs, b)
			}
			rows.Close()
			if strings.Join(seqs, "|") != "hello|after the boom" {
				t.Errorf("conv-a's history: %q", seqs)
			}
		})
	}
}

// claimPanics panics in its first claim, before any row is claimed, as a
// bug in the claim would; later claims work.
type claimPanics struct {
	*store.Store
	once chan struct{}
}

func (c claimPanics) Claim(ctx context.Context, shard store.Shard, claimer string, limit int, lease time.Duration) (*store.Claim, error) {
	select {
	case <-c.once:
		return c.Store.Claim(ctx, shard, claimer, limit, lease)
	default:
		close(c.once)
		panic("injected: claim bug")
	}
}

// A panic outside the batch ends the shard run, not the process: the
// worker goes on, and the shard's lock is kept for PanicHold (so another
// instance does not run into the same panic at once) unless the poller
// stops first.
func TestPanicKeepsTheShardLock(t *testing.T) {
	db := testdb.New(t, "sqlite")
	db.Insert(t, "conv", "hello")
	locker := lock.NewLocal()
	m := NewMetrics(prometheus.NewRegistry())
	p, err := New(Options{Store: claimPanics{Store: db.Store, once: make(chan struct{})}, Locker: locker,
		Converter: bridge.New(bridge.Options{}), Metrics: m, Shards: 1, Workers: 1, Schedule: "@every 50ms",
		PanicHold: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	p.Start(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(m.Panics.WithLabelValues("shard")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the claim never panicked")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h, _ := locker.Holder(context.Background(), LockKey(store.Shard{Index: 0, Count: 1})); h == "" {
		t.Fatal("the shard lock was released at once after the panic")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("stop while holding a lock after a panic: %v", err)
	}
	if h, _ := locker.Holder(context.Background(), LockKey(store.Shard{Index: 0, Count: 1})); h != "" {
		t.Fatal("the shard lock is still held after Stop")
	}

	// With a short hold, the next run relays the row.
	m2 := NewMetrics(prometheus.NewRegistry())
	p2, err := New(Options{Store: claimPanics{Store: db.Store, once: make(chan struct{})}, Locker: locker,
		Converter: bridge.New(bridge.Options{}), Metrics: m2, Shards: 1, Workers: 1, Schedule: "@every 50ms",
		PanicHold: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	p2.Start(context.Background())
	defer p2.Stop(context.Background())
	deadline = time.Now().Add(10 * time.Second)
	for {
		var status string
		var attempts int
		if err := db.Raw.QueryRow(`SELECT status, attempts FROM message_sync`).Scan(&status, &attempts); err != nil {
			t.Fatal(err)
		}
		if status == "sent" {
			if attempts != 0 {
				t.Errorf("the panic counted %d attempts against an innocent row", attempts)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("row still %s after the hold", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
