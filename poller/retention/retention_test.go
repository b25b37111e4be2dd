package retention_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/poller/retention"
)

func setup(t *testing.T, driver string, rows int) (*testdb.DB, retention.Options) {
	t.Helper()
	db := testdb.New(t, driver)
	old := time.Now().Add(-72 * time.Hour)
	for range rows {
		id := db.Insert(t, "k", "hi")
		var at any = old.UTC()
		if driver == "sqlite" {
			at = dbtime.Arg(true, old)
		}
		if _, err := db.Raw.Exec(`UPDATE message_sync SET status = 'sent', processed_at = ? WHERE id = ?`, at, id); err != nil {
			t.Fatal(err)
		}
	}
	db.Insert(t, "k", "the newest, pending")
	return db, retention.Options{Store: db.Store, Locker: lock.NewLocal(), Policy: retention.Policy{SentRows: 24 * time.Hour},
		BatchSize: 3, Pause: time.Millisecond}
}

// A pass deletes in batches of at most BatchSize until nothing is left;
// while another holder has the lock, it deletes nothing.
func TestRunOnce(t *testing.T) {
	for _, driver := range testdb.AllDialects {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			db, o := setup(t, driver, 7)
			p, err := retention.New(o)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			held, err := o.Locker.TryAcquire(ctx, retention.LockKey)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.RunOnce(ctx); !errors.Is(err, retention.ErrNotHolder) {
				t.Fatalf("with the lock held elsewhere: %v, want ErrNotHolder", err)
			}
			held.Release(ctx)
			res, err := p.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0].Deleted != 7 || res[0].Batches != 3 {
				t.Fatalf("pass %+v, want 7 sent rows deleted in 3 batches of at most 3", res)
			}
			var left int
			if err := db.Raw.QueryRow(`SELECT COUNT(*) FROM message_sync`).Scan(&left); err != nil {
				t.Fatal(err)
			}
			if left != 1 {
				t.Errorf("%d rows left, want the pending one", left)
			}
		})
	}
}

// A cancelled pass stops between batches; Stop may be called before
// Start and twice after it.
func TestStartStop(t *testing.T) {
	_, o := setup(t, "sqlite", 10)
	o.Pause = time.Hour // the pass waits after its first batch until stopped
	p, err := retention.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Start(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}
