package main

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/poller"
	"github.com/syncd-dev/syncd/store"
)

// The console's ops page shows what `syncd status` shows, plus the failed
// rows by reason, and requeues as `syncd requeue` does: rows that failed
// as invalid only with force, and says which it left alone.
func TestConsoleOpsOnRealStore(t *testing.T) {
	db := testdb.New(t, "mysql")
	ctx := context.Background()
	addr := os.Getenv("SYNCD_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rc := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rc.Close() })
	locker := lock.NewRedis(rc, lock.RedisOptions{TTL: 30 * time.Second, Owner: "syncd-a", Prefix: "syncd:test:ops:" + rand.Text() + ":"})
	lease, err := locker.TryAcquire(ctx, poller.LockKey(store.Shard{Index: 1, Count: 2}))
	if err != nil || lease == nil {
		t.Fatalf("acquire shard 1/2: %v %v", lease, err)
	}
	t.Cleanup(func() { _ = lease.Release(context.Background()) })

	transient := db.Insert(t, "conv-a", "one")
	invalid := db.Insert(t, "conv-b", "two")
	invalid2 := db.Insert(t, "conv-c", "three")
	db.Insert(t, "conv-d", "four") // stays pending
	for id, reason := range map[int64]string{
		transient: "gave up after 8 attempts: insert chat history: Error 1213: Deadlock found",
		invalid:   "invalid row: payload is not valid JSON", invalid2: "invalid row: payload is not valid JSON",
	} {
		if _, err := db.Raw.ExecContext(ctx, `UPDATE message_sync SET status = 'failed', last_error = ? WHERE id = ?`, reason, id); err != nil {
			t.Fatal(err)
		}
	}
	ops := consoleOps{st: db.Store, locker: locker, shards: 2}
	st, err := ops.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows["pending"] != 1 || st.Rows["failed"] != 3 || st.Locks != "redis" || len(st.Claims) != 0 {
		t.Errorf("status = %+v", st)
	}
	if want := []chatcore.OpsShard{{Shard: store.Shard{Index: 0, Count: 2}.String()}, {Shard: store.Shard{Index: 1, Count: 2}.String(), Holder: "syncd-a"}}; len(st.Shards) != 2 || st.Shards[0] != want[0] || st.Shards[1] != want[1] {
		t.Errorf("shards = %+v, want %+v", st.Shards, want)
	}
	if len(st.Failed) != 2 || st.Failed[0] != (chatcore.OpsFailure{Reason: "invalid row: payload is not valid JSON", Rows: 2, Invalid: true}) ||
		st.Failed[1].Rows != 1 || st.Failed[1].Invalid {
		t.Errorf("failed by reason = %+v", st.Failed)
	}

	res, err := ops.Requeue(ctx, chatcore.OpsRequeue{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requeued != 1 || res.Invalid != 2 || len(res.InvalidSample) != 2 || res.InvalidSample[0].ID != invalid {
		t.Errorf("requeue without force = %+v; want the transient failure back, the invalid ones skipped", res)
	}
	res, err = ops.Requeue(ctx, chatcore.OpsRequeue{ConversationKey: "conv-b", ErrorContains: "JSON", Force: true})
	if err != nil || res.Requeued != 1 || res.Invalid != 0 {
		t.Errorf("requeue conv-b with force = %+v, %v", res, err)
	}
	for id, want := range map[int64]string{transient: "pending", invalid: "pending", invalid2: "failed"} {
		if rs, err := db.Store.Status(ctx, id); err != nil || rs.Status != want {
			t.Errorf("row %d: %+v %v, want %s", id, rs, err, want)
		}
	}
}
