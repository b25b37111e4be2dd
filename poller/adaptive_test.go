package poller_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/poller"
)

// Adaptive polling: the schedule here would not run for an hour, so a row
// is relayed only by the fast probes, which run while an agent waits on
// the instance or while it found work within HotFor, and not otherwise.
func TestAdaptivePolling(t *testing.T) {
	for _, d := range testdb.AllDialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, d)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var watched atomic.Bool
			m := poller.NewMetrics(prometheus.NewRegistry())
			p, err := poller.New(poller.Options{
				Store: db.Store, Locker: lock.NewLocal(), Converter: bridge.New(bridge.Options{}), Metrics: m, Instance: "adaptive",
				Schedule: "@every 1h", Shards: 4, BatchSize: 10, Workers: 2,
				FastInterval: 10 * time.Millisecond, HotFor: time.Hour, Attention: watched.Load,
			})
			if err != nil {
				t.Fatal(err)
			}
			p.Start(ctx)
			defer func() {
				sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer scancel()
				if err := p.Stop(sctx); err != nil {
					t.Error(err)
				}
			}()
			sent := func(id int64) bool {
				st, err := db.Store.Status(context.Background(), id)
				return err == nil && st.Status == "sent"
			}

			// Idle and unwatched: no fast probe runs.
			p.Kick()
			time.Sleep(100 * time.Millisecond) // ten fast intervals
			if n := testutil.ToFloat64(m.FastProbes); n != 0 {
				t.Errorf("%v fast probes while idle and unwatched, want 0", n)
			}

			// An agent waits here: the fast probes find the row.
			watched.Store(true)
			id := db.Insert(t, "order-1", "an agent watches")
			eventually(t, "the row relayed by a fast probe", 30*time.Second, func() bool { return sent(id) })

			// Nobody watches, but work was found within HotFor: still fast.
			watched.Store(false)
			id = db.Insert(t, "order-2", "busy")
			eventually(t, "the row relayed while busy", 30*time.Second, func() bool { return sent(id) })
			if n := testutil.ToFloat64(m.FastProbes); n == 0 {
				t.Errorf("no fast probe counted")
			}
		})
	}
}
