package poller_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/poller"
	"github.com/syncd-dev/syncd/store"
)

// On PostgreSQL with the notification on, a row is relayed as soon as it
// is committed: here the schedule would not run for an hour, so only the
// wake-up can relay it.
func TestNotificationWakesPoller(t *testing.T) {
	db := testdb.New(t, "postgres")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := db.Store.SetNotify(ctx, true); err != nil {
		t.Fatal(err)
	}
	m := poller.NewMetrics(prometheus.NewRegistry())
	p, err := poller.New(poller.Options{
		Store: db.Store, Locker: lock.NewLocal(), Converter: bridge.New(bridge.Options{}), Metrics: m, Instance: "woken",
		Schedule: "@every 1h", Shards: 4, BatchSize: 10, Workers: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := db.Store.Listen(ctx, p.Wake, time.Second, store.ListenEvents{Error: func(err error) { t.Logf("listener: %v", err) }}); err != nil {
			t.Errorf("listen: %v", err)
		}
	}()
	defer func() {
		cancel()
		wg.Wait()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := p.Stop(sctx); err != nil {
			t.Error(err)
		}
	}()
	eventually(t, "the listener's first wake", 10*time.Second, func() bool { return testutil.ToFloat64(m.Wakeups) >= 1 })
	for i, key := range []string{"order-1", "order-2", "order-1"} {
		id := db.Insert(t, key, "woken")
		eventually(t, "row relayed after its wake-up", 10*time.Second, func() bool {
			st, err := db.Store.Status(context.Background(), id)
			return err == nil && st.Status == "sent"
		})
		if got := testutil.ToFloat64(m.Wakeups); got < float64(i+2) {
			t.Errorf("%v wake-ups after %d rows", got, i+1)
		}
	}
}
