package poller_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
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
// poller relays the taken-back rows in claims that start with one row and
// double: the innocent rows are relayed with no attempt counted, in order.
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
			// The first suspect goes alone, so that a crash on it is counted
			// against it; the claims after it at most double.
			for i, b := range st.batches {
				if i == 0 && len(b) != 1 || i > 0 && len(b) > 2*len(st.batches[i-1]) {
					t.Errorf("relayed the taken-back rows in claims of %v rows, want 1 and then at most doubling", batchSizes(st.batches))
					break
				}
			}
		})
	}
}

// claimCounter counts the rows the poller claims.
type claimCounter struct {
	*store.Store
	rows atomic.Int64
}

func (c *claimCounter) Claim(ctx context.Context, shard store.Shard, claimer string, limit int, lease time.Duration) (*store.Claim, error) {
	cl, err := c.Store.Claim(ctx, shard, claimer, limit, lease)
	if err == nil {
		c.rows.Add(int64(len(cl.Rows)))
	}
	return cl, err
}

// The rows of a killed instance's claims come back as suspects, each to
// be relayed on a claim of its own. The poller used to claim a full batch
// for each of them and release all but the first: a kill with 1,000 rows
// claimed cost half a million row claims and releases, which churned the
// claim index and held the shard for minutes (the stall of the SIGKILL
// e2e test in CI). Each suspect now costs about one row's claim.
func TestSuspectsAreNotClaimedOnceEach(t *testing.T) {
	for _, d := range testdb.AllDialects {
		t.Run(d, func(t *testing.T) {
			db := testdb.New(t, d)
			ctx := context.Background()
			const n, batch = 600, 200
			for i := range n {
				db.Insert(t, fmt.Sprintf("conv-%d", i%20), fmt.Sprintf("row %d", i))
			}
			all := store.Shard{Index: 0, Count: 1}
			if c, err := db.Store.Claim(ctx, all, "killed", n, time.Minute); err != nil || len(c.Rows) != n {
				t.Fatalf("claim: %v", err)
			}
			if got, err := db.Store.TakeBack(ctx, all, store.AllProcessing); err != nil || got != n {
				t.Fatalf("take back: %d, %v", got, err)
			}
			st := &claimCounter{Store: db.Store}
			p, err := poller.New(poller.Options{Store: st, Locker: lock.NewLocal(), Converter: bridge.New(bridge.Options{}),
				Metrics: poller.NewMetrics(prometheus.NewRegistry()), Instance: "next", Schedule: "@every 50ms",
				Shards: 1, BatchSize: batch, Lease: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			p.Start(ctx)
			t.Cleanup(func() { p.Stop(context.Background()) })
			eventually(t, "every row to be written back", 60*time.Second, func() bool {
				return countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE status IN ('pending', 'processing')`) == 0
			})
			checkOrder(t, db)
			if got := st.rows.Load(); got > n+batch {
				t.Errorf("relaying %d suspects claimed %d rows, want at most %d", n, got, n+batch)
			}
			if k := countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE attempts > 0`); k != 0 {
				t.Errorf("%d innocent suspects had an attempt counted", k)
			}
		})
	}
}

func batchSizes(batches [][]int64) []int {
	n := make([]int, len(batches))
	for i, b := range batches {
		n[i] = len(b)
	}
	return n
}

// dyingConverter ends its goroutine without a word, as a process killed
// mid-batch would leave its claim, whenever a batch holds the poison row.
type dyingConverter struct {
	poller.Converter
	poison int64
	died   chan struct{}
}

func (d *dyingConverter) Convert(ctx context.Context, rows []store.Row) store.Outcome {
	for _, r := range rows {
		if r.ID == d.poison {
			d.died <- struct{}{}
			runtime.Goexit()
		}
	}
	return d.Converter.Convert(ctx, rows)
}

// A row that kills its relayer every time (a crash outside Go's reach)
// must end failed after poller.max_attempts crashes on a claim of its own,
// with the rows claimed beside it relayed and no attempt counted against
// them. Each round is a fresh process that dies on the row.
func TestRowThatKillsItsRelayerFails(t *testing.T) {
	for _, d := range testdb.AllDialects {
		t.Run(d, func(t *testing.T) {
			db := testdb.New(t, d)
			ctx := context.Background()
			const n, maxAttempts, lease = 60, 3, 300 * time.Millisecond
			var ids []int64
			for i := range n {
				ids = append(ids, db.Insert(t, fmt.Sprintf("conv-%d", i%20), fmt.Sprintf("row %d", i)))
			}
			poison := ids[n/2]
			conv := &dyingConverter{Converter: bridge.New(bridge.Options{}), poison: poison, died: make(chan struct{}, 1)}
			rounds := 0
			for ; rounds < 30; rounds++ {
				var status string
				if err := db.Raw.QueryRow(`SELECT status FROM message_sync WHERE id = ?`, poison).Scan(&status); err != nil {
					t.Fatal(err)
				}
				if status == "failed" {
					break
				}
				time.Sleep(lease) // the dead round's claim expires
				p, err := poller.New(poller.Options{Store: db.Store, Locker: lock.NewLocal(), Converter: conv,
					Metrics: poller.NewMetrics(prometheus.NewRegistry()), Instance: fmt.Sprintf("round-%d", rounds),
					Schedule: "@every 50ms", Shards: 1, Workers: 1, BatchSize: 64, MaxAttempts: maxAttempts, Lease: lease})
				if err != nil {
					t.Fatal(err)
				}
				p.Start(ctx)
				// The round ends when it dies, or when it has written back
				// every row, the poison one failed.
				eventually(t, "the round to die on the poison row or write back every row", 30*time.Second, func() bool {
					select {
					case <-conv.died:
						return true
					default:
						return countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE id = ? AND status = 'failed'`, poison) == 1 &&
							countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE status IN ('pending', 'processing')`) == 0
					}
				})
				p.Stop(ctx)
			}
			var reason string
			var attempts int
			if err := db.Raw.QueryRow(`SELECT status, COALESCE(last_error, ''), attempts FROM message_sync WHERE id = ?`, poison).
				Scan(new(string), &reason, &attempts); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(reason, fmt.Sprintf("gave up after %d attempts", maxAttempts)) {
				t.Fatalf("after %d rounds the poison row has %d attempts, last error %q; want it failed after %d", rounds, attempts, reason, maxAttempts)
			}
			// log2(batch) crashes find it, max_attempts more fail it.
			if rounds-1 > maxAttempts+8 {
				t.Errorf("the poison row took %d crashes to fail, want at most %d", rounds-1, maxAttempts+8)
			}
			t.Logf("failed after %d crashes", rounds-1)
			if k := countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE status = 'sent' AND attempts = 0`); k != n-1 {
				t.Errorf("%d of the %d innocent rows sent with no attempt counted", k, n-1)
			}
		})
	}
}
