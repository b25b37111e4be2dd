package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/poller/retention"
	"github.com/syncd-dev/syncd/store"
)

// expiredKey is the conversation of the expired sent rows (Config.
// ExpiredRows); the relay's checks leave them out.
const expiredKey = "bench-expired"

// SeedExpired inserts rows sent rows processed three days ago, for a
// retention pass to delete: a chunk of multi-row INSERTs, then INSERT …
// SELECT doubling it, which writes a million rows in seconds.
func (s *Scratch) SeedExpired(ctx context.Context, rows int) error {
	if rows <= 0 {
		return nil
	}
	fmt.Fprintf(s.progress, "seeding %d expired sent rows\n", rows)
	old := time.Now().UTC().Add(-72 * time.Hour)
	first := min(rows, seedChunk)
	q := `INSERT INTO message_sync (conversation_key, body, status, processed_at) VALUES `
	args := make([]any, 0, 3*first)
	for i := range first {
		if i > 0 {
			q += ", "
		}
		q += "(?, ?, 'sent', ?)"
		args = append(args, expiredKey, body(i, s.cfg.BodyBytes), old)
	}
	if _, err := s.db.ExecContext(ctx, s.q(q), args...); err != nil {
		return fmt.Errorf("seed expired rows: %w", err)
	}
	for have := first; have < rows; {
		n := min(have, rows-have)
		if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO message_sync (conversation_key, body, status, processed_at)
SELECT conversation_key, body, status, processed_at FROM message_sync WHERE conversation_key = ? LIMIT ?`), expiredKey, n); err != nil {
			return fmt.Errorf("seed expired rows: %w", err)
		}
		have += n
	}
	return nil
}

// countingStore counts what a purger deletes.
type countingStore struct {
	*store.Store
	deleted atomic.Int64
}

func (c *countingStore) PurgeBatch(ctx context.Context, e store.Expired, before time.Time, limit int) (int64, error) {
	n, err := c.Store.PurgeBatch(ctx, e, before, limit)
	c.deleted.Add(n)
	return n, err
}

// purger is a retention pass over the expired rows running beside the
// relay, on a pool and lock of its own as in a syncd instance.
type purger struct {
	store  *countingStore
	redis  *redis.Client
	cancel context.CancelFunc
	done   chan error
}

func (s *Scratch) startPurge(ctx context.Context) (*purger, error) {
	st, err := store.Open(ctx, s.dialect, s.dsn, 2)
	if err != nil {
		return nil, fmt.Errorf("open the purger's store: %w", err)
	}
	cs := &countingStore{Store: st}
	rc := redis.NewClient(&redis.Options{Addr: s.cfg.Redis})
	r, err := retention.New(retention.Options{
		Store:  cs,
		Locker: lock.NewRedis(rc, lock.RedisOptions{Prefix: s.prefix, Owner: "bench-purge", Logger: s.cfg.Logger}),
		Policy: retention.Policy{SentRows: 24 * time.Hour},
		Logger: s.cfg.Logger,
	})
	if err != nil {
		st.Close()
		rc.Close()
		return nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	p := &purger{store: cs, redis: rc, cancel: cancel, done: make(chan error, 1)}
	go func() { _, err := r.RunOnce(pctx); p.done <- err }()
	return p, nil
}

// stop ends the pass and returns how many rows it deleted, and how many
// were still to go when it ended (0: it finished during the run).
func (p *purger) stop(ctx context.Context, s *Scratch) (deleted, left int64) {
	p.cancel()
	<-p.done
	defer p.store.Close()
	defer p.redis.Close()
	_ = s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM message_sync WHERE conversation_key = ?`), expiredKey).Scan(&left)
	return p.store.deleted.Load(), left
}
