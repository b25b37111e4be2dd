package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/poller"
	"github.com/syncd-dev/syncd/store"
)

// watchEvery is how often a run looks for rows still to relay.
const watchEvery = 20 * time.Millisecond

// instance is one in-process syncd: its own pool, Redis client and poller.
type instance struct {
	store  *store.Store
	redis  *redis.Client
	poller *poller.Poller
	timed  *timedStore
}

// RelaySyncd relays the pending backlog with Config.Instances syncd
// instances and returns the time until no row was pending or processing.
// It fails with ErrIncorrect unless every row was relayed exactly once.
func (s *Scratch) RelaySyncd(ctx context.Context) (Result, error) {
	r := Result{Poller: "syncd", Instances: s.cfg.Instances}
	backlog, err := s.backlog(ctx)
	if err != nil {
		return r, err
	}
	r.Backlog = backlog
	fmt.Fprintf(s.progress, "relaying %d rows with %d syncd instances\n", backlog, s.cfg.Instances)

	var insts []*instance
	defer func() {
		for _, in := range insts {
			in.store.Close()
			in.redis.Close()
		}
	}()
	for i := range s.cfg.Instances {
		in, err := s.newInstance(ctx, fmt.Sprintf("bench-%d", i+1))
		if err != nil {
			return r, err
		}
		insts = append(insts, in)
	}

	before, err := s.counters(ctx)
	if err != nil {
		return r, err
	}
	if s.cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(s.cfg.CPUProfile); err != nil {
			return r, fmt.Errorf("start CPU profile: %w", err)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var purge *purger
	if s.cfg.Purge {
		if purge, err = s.startPurge(ctx); err != nil {
			return r, err
		}
	}
	start := time.Now()
	for _, in := range insts {
		in.poller.Start(rctx)
		in.poller.Kick()
	}
	waitErr := s.waitDrained(rctx)
	r.Elapsed = time.Since(start)
	if purge != nil {
		r.Purged, r.PurgeLeft = purge.stop(ctx, s)
	}
	if s.cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}

	var stopErrs []error
	for _, in := range insts {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		stopErrs = append(stopErrs, in.poller.Stop(sctx))
		scancel()
	}
	if err := errors.Join(append([]error{waitErr}, stopErrs...)...); err != nil {
		return r, err
	}
	if after, err := s.counters(ctx); err == nil {
		r.Server = after.minus(before)
	}
	r.Steps = sumSteps(insts)
	if err := s.tally(ctx, &r, "chat_messages"); err != nil {
		return r, err
	}
	return r, r.exactlyOnce()
}

func (s *Scratch) newInstance(ctx context.Context, name string) (*instance, error) {
	// A connection per worker, and spares for take-back and the lock's
	// own work, as a production instance would size its pool; the hold
	// limit syncd run sets with Redis locks (the lock's lifetime).
	st, err := store.Open(ctx, s.dialect, s.dsn, s.cfg.Workers+2, store.HoldLimit(config.Default().Redis.LockTTL))
	if err != nil {
		return nil, fmt.Errorf("open store of %s: %w", name, err)
	}
	rc := redis.NewClient(&redis.Options{Addr: s.cfg.Redis})
	timed := &timedStore{Store: st}
	p, err := poller.New(poller.Options{
		Store: timed,
		Locker: lock.NewRedis(rc, lock.RedisOptions{
			Prefix: s.prefix, Owner: name, Logger: s.cfg.Logger,
		}),
		Converter: bridge.New(bridge.Options{Bot: s.bot(), Logger: s.cfg.Logger}),
		Logger:    s.cfg.Logger.With("instance", name),
		Instance:  name,
		Schedule:  s.cfg.Schedule,
		Shards:    s.cfg.Shards,
		BatchSize: s.cfg.BatchSize,
		Workers:   s.cfg.Workers,
	})
	if err != nil {
		st.Close()
		rc.Close()
		return nil, fmt.Errorf("configure poller of %s: %w", name, err)
	}
	return &instance{store: st, redis: rc, poller: p, timed: timed}, nil
}

// backlog counts the rows a run has to relay.
func (s *Scratch) backlog(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM message_sync WHERE status = 'pending'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the backlog: %w", err)
	}
	return n, nil
}

// waitDrained polls until no row is pending or processing, or ctx ends.
func (s *Scratch) waitDrained(ctx context.Context) error {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		left, err := s.pending(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("backlog not relayed within %s: %w", s.cfg.Timeout, ctx.Err())
			}
			return err
		}
		if !left {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("backlog not relayed within %s: %w", s.cfg.Timeout, ctx.Err())
		case <-t.C:
		}
	}
}

var _ poller.Store = (*timedStore)(nil)

// timedStore is the production store with a stopwatch around each call
// the poller makes.
type timedStore struct {
	*store.Store
	claim, commit, takeBack, probe stopwatch
}

type stopwatch struct{ calls, empty, errors, rows, nanos atomic.Int64 }

func (w *stopwatch) since(start time.Time, rows int, err error) {
	w.nanos.Add(int64(time.Since(start)))
	w.calls.Add(1)
	w.rows.Add(int64(rows))
	switch {
	case err != nil:
		w.errors.Add(1)
	case rows == 0:
		w.empty.Add(1)
	}
}

func (t *timedStore) Claim(ctx context.Context, shard store.Shard, claimer string, limit int, lease time.Duration) (*store.Claim, error) {
	start := time.Now()
	c, err := t.Store.Claim(ctx, shard, claimer, limit, lease)
	n := 0
	if c != nil {
		n = len(c.Rows)
	}
	t.claim.since(start, n, err)
	return c, err
}

func (t *timedStore) TakeBack(ctx context.Context, shard store.Shard, which store.Abandoned) (int64, error) {
	start := time.Now()
	n, err := t.Store.TakeBack(ctx, shard, which)
	t.takeBack.since(start, int(n), err)
	return n, err
}

func (t *timedStore) DueShards(ctx context.Context, shards []store.Shard) ([]store.Shard, error) {
	start := time.Now()
	due, err := t.Store.DueShards(ctx, shards)
	t.probe.since(start, len(due), err)
	return due, err
}

func (t *timedStore) Commit(ctx context.Context, c *store.Claim, out store.Outcome) ([]chat.Message, error) {
	start := time.Now()
	msgs, err := t.Store.Commit(ctx, c, out)
	n := len(out.Relayed)
	if err != nil {
		n = 0
	}
	t.commit.since(start, n, err)
	return msgs, err
}

func sumSteps(insts []*instance) []Step {
	steps := []Step{{Name: "claim", Unit: "rows"}, {Name: "commit", Unit: "rows"}, {Name: "take back", Unit: "rows"}, {Name: "probe", Unit: "shards due"}}
	for _, in := range insts {
		for i, w := range []*stopwatch{&in.timed.claim, &in.timed.commit, &in.timed.takeBack, &in.timed.probe} {
			steps[i].Calls += w.calls.Load()
			steps[i].Empty += w.empty.Load()
			steps[i].Errors += w.errors.Load()
			steps[i].Rows += w.rows.Load()
			steps[i].Total += time.Duration(w.nanos.Load())
		}
	}
	return steps
}

func (s *Scratch) bot() bridge.Bot {
	if s.cfg.Bot == nil {
		return bridge.NoBot{}
	}
	return s.cfg.Bot
}
