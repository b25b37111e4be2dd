package poller_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/poller"
	"github.com/syncd-dev/syncd/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// database/sql and go-redis pools close their goroutines lazily.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreTopFunction("github.com/go-sql-driver/mysql.(*mysqlConn).startWatcher.func1"),
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).reaper"),
	)
}

type bundle struct {
	db      *testdb.DB
	metrics *poller.Metrics
}

func newPoller(t *testing.T, b *bundle, st poller.Store, locker lock.Locker, conv poller.Converter, name string) *poller.Poller {
	t.Helper()
	b.metrics = poller.NewMetrics(prometheus.NewRegistry())
	p, err := poller.New(poller.Options{
		Store: st, Locker: locker, Converter: conv, Metrics: b.metrics, Instance: name,
		Schedule: "@every 50ms", Shards: 4, BatchSize: 7, Workers: 2,
		BackoffBase: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, Lease: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("stop poller %s: %v", name, err)
		}
	})
	return p
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countWhere(t *testing.T, db *testdb.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Raw.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkOrder asserts that each conversation's history is seq 1..n in
// message_sync id order, every row exactly once.
func checkOrder(t *testing.T, db *testdb.DB) {
	t.Helper()
	rows, err := db.Raw.Query(`SELECT conversation_key, seq, source_id FROM chat_messages
WHERE source_table = 'message_sync' ORDER BY conversation_key, seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	last := map[string][2]int64{}
	for rows.Next() {
		var key string
		var seq, src int64
		if err := rows.Scan(&key, &seq, &src); err != nil {
			t.Fatal(err)
		}
		prev := last[key]
		if seq != prev[0]+1 || src <= prev[1] {
			t.Fatalf("%s: seq %d (source %d) after seq %d (source %d): out of order or gap", key, seq, src, prev[0], prev[1])
		}
		last[key] = [2]int64{seq, src}
	}
	if n := countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE status <> 'sent'`); n != 0 {
		t.Fatalf("%d rows not sent", n)
	}
	if d := countWhere(t, db, `SELECT COUNT(*) FROM message_sync`) - countWhere(t, db, `SELECT COUNT(DISTINCT source_id) FROM chat_messages WHERE source_table = 'message_sync'`); d != 0 {
		t.Fatalf("%d rows missing from history", d)
	}
}

// flakyStore fails the first commits that touch one row, as a database
// error would, so the row goes through the retry path.
type flakyStore struct {
	*store.Store
	row   int64
	fails atomic.Int32
}

func (f *flakyStore) Commit(ctx context.Context, c *store.Claim, out store.Outcome) ([]chat.Message, error) {
	for _, r := range out.Relayed {
		if r.Message.SourceID == f.row && f.fails.Add(-1) >= 0 {
			return nil, errors.New("injected: deadlock found when trying to get lock")
		}
	}
	return f.Store.Commit(ctx, c, out)
}

func TestOrderHoldsAcrossRetry(t *testing.T) {
	for _, d := range testdb.AllDialects {
		t.Run(d, func(t *testing.T) {
			b := &bundle{db: testdb.New(t, d)}
			var first int64
			for i := 0; i < 30; i++ {
				id := b.db.Insert(t, fmt.Sprintf("conv-%d", i%3), fmt.Sprintf("message %d", i))
				if i == 3 {
					first = id // conv-0's second row
				}
			}
			fs := &flakyStore{Store: b.db.Store, row: first}
			fs.fails.Store(2) // the batch commit and the row-by-row commit, twice over two batches
			newPoller(t, b, fs, lock.NewLocal(), bridge.New(bridge.Options{}), "solo")
			eventually(t, "all rows sent", 20*time.Second, func() bool {
				return countWhere(t, b.db, `SELECT COUNT(*) FROM message_sync WHERE status = 'sent'`) == 30
			})
			checkOrder(t, b.db)
			if got := testutil.ToFloat64(b.metrics.Retried); got < 1 {
				t.Fatalf("retried counter %v, want the injected failure retried", got)
			}
			if n := countWhere(t, b.db, `SELECT attempts FROM message_sync WHERE id = ?`, first); n < 1 {
				t.Fatalf("retried row has %d attempts", n)
			}
		})
	}
}

func TestOrderAcrossThreeInstances(t *testing.T) {
	db := testdb.New(t, "mysql")
	rc := redis.NewClient(&redis.Options{Addr: testdb.RedisAddr()})
	defer rc.Close()
	prefix := fmt.Sprintf("syncd:test:%d:", time.Now().UnixNano())
	var writer sync.WaitGroup
	stop := make(chan struct{})
	writer.Add(1)
	go func() {
		defer writer.Done()
		for i := 0; i < 600; i++ {
			select {
			case <-stop:
				return
			default:
			}
			db.Insert(t, fmt.Sprintf("conv-%d", i%20), fmt.Sprintf("m%d", i))
		}
	}()
	for i := 0; i < 3; i++ {
		b := &bundle{db: db}
		name := fmt.Sprintf("inst-%d", i)
		newPoller(t, b, db.Store, lock.NewRedis(rc, lock.RedisOptions{TTL: 2 * time.Second, Prefix: prefix, Owner: name}),
			bridge.New(bridge.Options{}), name)
	}
	writer.Wait()
	close(stop)
	eventually(t, "600 rows sent", 30*time.Second, func() bool {
		return countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE status = 'sent'`) == 600
	})
	checkOrder(t, db)
}

// pausingConverter blocks its first batch until released, as a process
// frozen mid-batch (GC pause, SIGSTOP, a VM migration) would.
type pausingConverter struct {
	inner   poller.Converter
	paused  chan struct{}
	release chan struct{}
	once    sync.Once
}

func (p *pausingConverter) Convert(ctx context.Context, rows []store.Row) store.Outcome {
	first := false
	p.once.Do(func() { first = true })
	if first {
		close(p.paused)
		<-p.release
	}
	return p.inner.Convert(ctx, rows)
}

// frozenLocker hands out leases whose context is never cancelled by a lost
// lock: while a process is frozen its lock extender is frozen too, so it
// cannot learn that its lock expired before it writes back.
type frozenLocker struct{ lock.Locker }

func (f frozenLocker) TryAcquire(ctx context.Context, key string) (lock.Lease, error) {
	l, err := f.Locker.TryAcquire(ctx, key)
	if err != nil {
		return nil, err
	}
	return frozenLease{Lease: l, ctx: context.WithoutCancel(ctx)}, nil
}

type frozenLease struct {
	lock.Lease
	ctx context.Context
}

func (f frozenLease) Context() context.Context { return f.ctx }

func TestPausedClaimerCannotWriteBack(t *testing.T) {
	db := testdb.New(t, "mysql")
	rc := redis.NewClient(&redis.Options{Addr: testdb.RedisAddr()})
	defer rc.Close()
	prefix := fmt.Sprintf("syncd:test:%d:", time.Now().UnixNano())
	for i := 0; i < 5; i++ {
		db.Insert(t, "only-conv", fmt.Sprintf("m%d", i))
	}
	pc := &pausingConverter{inner: bridge.New(bridge.Options{}), paused: make(chan struct{}), release: make(chan struct{})}
	stale := &bundle{db: db}
	newPoller(t, stale, db.Store, frozenLocker{lock.NewRedis(rc, lock.RedisOptions{TTL: time.Second, Prefix: prefix, Owner: "stale"})}, pc, "stale")
	<-pc.paused
	// The stale instance's lock expires while it is frozen.
	keys, err := rc.Keys(context.Background(), prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("lock keys %v, %v", keys, err)
	}
	if err := rc.Del(context.Background(), keys...).Err(); err != nil {
		t.Fatal(err)
	}
	fresh := &bundle{db: db}
	newPoller(t, fresh, db.Store, lock.NewRedis(rc, lock.RedisOptions{TTL: time.Second, Prefix: prefix, Owner: "fresh"}),
		bridge.New(bridge.Options{}), "fresh")
	eventually(t, "the new holder relays the rows", 20*time.Second, func() bool {
		return countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE status = 'sent'`) == 5
	})
	close(pc.release)
	eventually(t, "the stale write-back is refused", 10*time.Second, func() bool {
		return testutil.ToFloat64(stale.metrics.ClaimsLost) == 1
	})
	checkOrder(t, db)
	if n := countWhere(t, db, `SELECT COUNT(*) FROM chat_messages`); n != 5 {
		t.Fatalf("history has %d messages, want 5", n)
	}
	if n := countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE claimed_by = 'stale'`); n != 0 {
		t.Fatalf("%d rows still carry the stale claim", n)
	}
}

func TestScheduleParsing(t *testing.T) {
	for _, tc := range []struct {
		spec string
		ok   bool
	}{
		// The parser's own cases are in internal/schedule; this is the wiring.
		{"@every 100ms", true}, {"*/5 * * * * *", true}, {"every second", false},
	} {
		_, err := poller.New(poller.Options{Store: &store.Store{}, Locker: lock.NewLocal(), Converter: bridge.New(bridge.Options{}), Schedule: tc.spec})
		if (err == nil) != tc.ok {
			t.Errorf("schedule %q: err %v, want ok=%v", tc.spec, err, tc.ok)
		}
	}
}

// watchingStore records which shards the poller claims from.
type watchingStore struct {
	*store.Store
	mu      sync.Mutex
	claimed map[int]int // shard index → claims
	probes  atomic.Int32
}

func (w *watchingStore) Claim(ctx context.Context, shard store.Shard, claimer string, limit int, lease time.Duration) (*store.Claim, error) {
	w.mu.Lock()
	w.claimed[shard.Index]++
	w.mu.Unlock()
	return w.Store.Claim(ctx, shard, claimer, limit, lease)
}

func (w *watchingStore) DueShards(ctx context.Context, shards []store.Shard) ([]store.Shard, error) {
	w.probes.Add(1)
	return w.Store.DueShards(ctx, shards)
}

func (w *watchingStore) claims() map[int]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.claimed)
}

// An idle database costs the schedule one probe a tick; only a shard that
// has work is locked and claimed from.
func TestTickClaimsOnlyShardsWithWork(t *testing.T) {
	for _, d := range testdb.AllDialects {
		t.Run(d, func(t *testing.T) {
			b := &bundle{db: testdb.New(t, d)}
			ws := &watchingStore{Store: b.db.Store, claimed: map[int]int{}}
			newPoller(t, b, ws, lock.NewLocal(), bridge.New(bridge.Options{}), "solo")
			eventually(t, "three ticks", 10*time.Second, func() bool { return ws.probes.Load() >= 3 })
			if c := ws.claims(); len(c) != 0 {
				t.Fatalf("claims on an empty table: %v", c)
			}
			if n := testutil.ToFloat64(b.metrics.LockAcquired); n != 0 {
				t.Fatalf("%v shard locks taken on an empty table", n)
			}

			id := b.db.Insert(t, "conv-1", "hello")
			eventually(t, "row sent", 10*time.Second, func() bool {
				return countWhere(t, b.db, `SELECT COUNT(*) FROM message_sync WHERE status = 'sent'`) == 1
			})
			bucket := countWhere(t, b.db, `SELECT shard_bucket FROM message_sync WHERE id = ?`, id)
			shard := bucket / (store.Buckets / 4) // newPoller uses 4 shards
			if c := ws.claims(); len(c) != 1 || c[shard] == 0 {
				t.Fatalf("claims by shard %v; want only shard %d, the row's", c, shard)
			}
		})
	}
}

type blindStore struct{ *store.Store }

func (blindStore) DueShards(context.Context, []store.Shard) ([]store.Shard, error) {
	return nil, errors.New("injected: probe failed")
}

// When the probe fails every shard is tried, so a probe that cannot run
// (a statement the server refuses) never stops the relay.
func TestFailedProbeTriesEveryShard(t *testing.T) {
	b := &bundle{db: testdb.New(t, "sqlite")}
	newPoller(t, b, blindStore{b.db.Store}, lock.NewLocal(), bridge.New(bridge.Options{}), "solo")
	for i := 0; i < 8; i++ {
		b.db.Insert(t, fmt.Sprintf("conv-%d", i), "hello")
	}
	eventually(t, "rows sent", 10*time.Second, func() bool {
		return countWhere(t, b.db, `SELECT COUNT(*) FROM message_sync WHERE status = 'sent'`) == 8
	})
	if n := testutil.ToFloat64(b.metrics.Errors.WithLabelValues("probe")); n < 1 {
		t.Fatalf("probe errors counted: %v", n)
	}
}

// scriptedBot answers "auto" itself, suggests a reply for "suggest", and
// renders every event; a stand-in for the ONNX bot, which bot/ tests.
type scriptedBot struct{}

func (scriptedBot) Assess(_ context.Context, in []bridge.Inbound) ([]bridge.Verdict, error) {
	out := make([]bridge.Verdict, len(in))
	for i, m := range in {
		switch {
		case m.Kind != chat.KindMessage:
			out[i].AutoReply = "Thanks for your order."
		case m.Body == "auto":
			out[i] = bridge.Verdict{Intent: "greeting", Confidence: 0.99, AutoReply: "Hello!"}
		case m.Body == "suggest":
			out[i] = bridge.Verdict{Intent: "refund", Confidence: 0.5, Suggestion: "Refunds take 5 days."}
		case m.Body == "person":
			out[i] = bridge.Verdict{Intent: "human_agent", Confidence: 0.99, AutoReply: "An agent will join.", Handoff: true}
		}
	}
	return out, nil
}

// The bot's answers are counted once they have committed with their batch,
// by kind, and suggestions apart.
func TestBotAnswersCountedAtCommit(t *testing.T) {
	b := &bundle{db: testdb.New(t, "sqlite")}
	for _, body := range []string{"auto", "suggest", "auto", "plain", "person"} {
		b.db.Insert(t, "conv", body)
	}
	if _, err := b.db.Raw.Exec(`INSERT INTO message_sync (conversation_key, kind, body, payload) VALUES ('conv', 'order_created', 'Order 1 created', '{"order_id": 1}')`); err != nil {
		t.Fatal(err)
	}
	newPoller(t, b, b.db.Store, lock.NewLocal(), bridge.New(bridge.Options{Bot: scriptedBot{}}), "solo")
	eventually(t, "all rows sent", 10*time.Second, func() bool {
		return countWhere(t, b.db, `SELECT COUNT(*) FROM message_sync WHERE status = 'sent'`) == 6
	})
	counters := []struct {
		what    string
		counter prometheus.Collector
		want    float64
	}{
		{what: "replies to messages", counter: b.metrics.BotReplies.WithLabelValues("message"), want: 3},
		{what: "hand-offs", counter: b.metrics.Handoffs, want: 1},
		{what: "replies to events", counter: b.metrics.BotReplies.WithLabelValues("event"), want: 1},
		{what: "suggestions", counter: b.metrics.Suggestions, want: 1},
	}
	// They are counted just after the commit that the rows' status shows.
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range counters {
		for testutil.ToFloat64(c.counter) < c.want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, c := range counters {
		if got := testutil.ToFloat64(c.counter); got != c.want {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
}
