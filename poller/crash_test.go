package poller_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/poller"
	"github.com/syncd-dev/syncd/store"
)

// commitLog records the rows of every commit that relays something.
type commitLog struct {
	*store.Store
	mu      sync.Mutex
	batches [][]int64
}

func (c *commitLog) Commit(ctx context.Context, cl *store.Claim, out store.Outcome) ([]chat.Message, error) {
	msgs, err := c.Store.Commit(ctx, cl, out)
	if err == nil && len(out.Relayed) > 0 {
		ids := make([]int64, 0, len(out.Relayed))
		for _, r := range out.Relayed {
			ids = append(ids, r.Message.SourceID)
		}
		c.mu.Lock()
		c.batches = append(c.batches, ids)
		c.mu.Unlock()
	}
	return msgs, err
}

// A process that dies with a batch claimed (a crash, a kill, a lost lock)
// says nothing about which of its rows, if any, caused it. Taken back as
// often as poller.max_attempts, a batch used to reach the limit and fail
// every row with "gave up after 3 attempts" without relaying any. Now a
// take-back counts an attempt only against a row claimed alone, and the
// poller relays each taken-back row on a claim of its own: the innocent
// rows are relayed with no attempt counted, in order.
func TestCrashIsNotAnAttemptOfInnocentRows(t *testing.T) {
	for _, d := range testdb.AllDialects {
		t.Run(d, func(t *testing.T) {
			db := testdb.New(t, d)
			ctx := context.Background()
			const maxAttempts = 3
			var ids []int64
			for i := range 12 {
				ids = append(ids, db.Insert(t, fmt.Sprintf("conv-%d", i%3), fmt.Sprintf("row %d", i)))
			}
			all := store.Shard{Index: 0, Count: 1}
			for range maxAttempts {
				// A holder claims the whole batch and dies; the next holder of
				// the shard takes it back.
				if c, err := db.Store.Claim(ctx, all, "crashed", 100, time.Minute); err != nil || len(c.Rows) != len(ids) {
					t.Fatalf("claim: %v", err)
				}
				if n, err := db.Store.TakeBack(ctx, all, store.AllProcessing); err != nil || n != int64(len(ids)) {
					t.Fatalf("take back: %d, %v", n, err)
				}
			}
			if n := countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE attempts > 0`); n != 0 {
				t.Fatalf("taking back a batch of %d rows counted attempts against %d of them", len(ids), n)
			}
			// A holder that dies with one row claimed: that row is counted.
			one, err := db.Store.Claim(ctx, all, "crashed", 1, time.Minute)
			if err != nil || len(one.Rows) != 1 {
				t.Fatalf("claim one: %v", err)
			}
			if _, err := db.Store.TakeBack(ctx, all, store.AllProcessing); err != nil {
				t.Fatal(err)
			}
			if n := countWhere(t, db, `SELECT attempts FROM message_sync WHERE id = ?`, one.Rows[0].ID); n != 1 {
				t.Fatalf("a row taken back from a claim of its own has %d attempts, want 1", n)
			}

			st := &commitLog{Store: db.Store}
			m := poller.NewMetrics(prometheus.NewRegistry())
			p, err := poller.New(poller.Options{Store: st, Locker: lock.NewLocal(), Converter: bridge.New(bridge.Options{}),
				Metrics: m, Instance: "next", Schedule: "@every 50ms", Shards: 1, BatchSize: 100, MaxAttempts: maxAttempts,
				Lease: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			p.Start(ctx)
			t.Cleanup(func() { p.Stop(context.Background()) })
			eventually(t, "every row to be written back", 30*time.Second, func() bool {
				return countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE status IN ('pending', 'processing')`) == 0
			})
			checkOrder(t, db)
			if n := countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE attempts > 0`); n != 1 {
				t.Errorf("%d rows with attempts counted, want only the one taken back alone", n)
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			for _, b := range st.batches {
				if len(b) != 1 {
					t.Errorf("rows %v, all taken back, relayed in one claim: a crash among them could not be told apart", b)
				}
			}
		})
	}
}
