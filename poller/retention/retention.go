package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/store"
)

// LockKey is the lock a pass holds, so that one instance at a time purges.
const LockKey = "retention"

// Defaults for Options.
const (
	DefaultBatchSize = 2000
	DefaultPause     = 200 * time.Millisecond
	DefaultEvery     = 10 * time.Minute
	batchTimeout     = time.Minute
)

// Store is what a pass needs of the database.
type Store interface {
	PurgeBatch(ctx context.Context, e store.Expired, before time.Time, limit int) (int64, error)
	PreviewPurge(ctx context.Context, e store.Expired, before time.Time) (store.Preview, error)
}

var _ Store = (*store.Store)(nil)

// Policy is how long each kind of finished row is kept; 0 keeps it forever.
type Policy struct {
	SentRows, FailedRows, RepliesDone, History time.Duration
}

// Enabled reports whether anything is ever deleted.
func (p Policy) Enabled() bool { return p != Policy{} }

// keep is how long rows of kind e are kept; 0 is forever.
func (p Policy) keep(e store.Expired) time.Duration {
	switch e {
	case store.SentRows:
		return p.SentRows
	case store.FailedRows:
		return p.FailedRows
	case store.RepliesDone:
		return p.RepliesDone
	}
	return p.History
}

// Options configure a Purger; zero values take the defaults.
type Options struct {
	Store     Store       // required
	Locker    lock.Locker // required
	Policy    Policy
	Metrics   *Metrics      // nil: not exported
	Logger    *slog.Logger  // nil: slog.Default()
	BatchSize int           // rows per DELETE; DefaultBatchSize
	Pause     time.Duration // between batches; DefaultPause
	Every     time.Duration // between passes; DefaultEvery
	Now       func() time.Time
}

// Purger runs retention passes.
type Purger struct {
	o    Options
	log  *slog.Logger
	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

// New checks o and returns a Purger that has not started.
func New(o Options) (*Purger, error) {
	if o.Store == nil || o.Locker == nil {
		return nil, errors.New("retention: Store and Locker are required")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Pause <= 0 {
		o.Pause = DefaultPause
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Purger{o: o, log: log.With(slog.String("component", "retention"))}, nil
}

// Result is what a pass did to one kind of row.
type Result struct {
	Kind    store.Expired
	Before  time.Time // the horizon
	Deleted int64
	Batches int
}

// ErrNotHolder means another instance holds the retention lock: it runs
// the passes now.
var ErrNotHolder = errors.New("another instance is purging (it holds the retention lock)")

// RunOnce takes the lock and runs one pass over every kind with a
// horizon, each until nothing of it is left or ctx ends.
func (p *Purger) RunOnce(ctx context.Context) ([]Result, error) {
	lease, err := p.o.Locker.TryAcquire(ctx, LockKey)
	if errors.Is(err, lock.ErrNotAcquired) {
		return nil, ErrNotHolder
	}
	if err != nil {
		return nil, fmt.Errorf("take the retention lock: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := lease.Release(rctx); err != nil {
			p.log.WarnContext(ctx, "release the retention lock", slog.Any("error", err))
		}
	}()
	// A lost lock ends the pass: another instance may have begun one.
	return p.pass(lease.Context())
}

func (p *Purger) pass(ctx context.Context) ([]Result, error) {
	start := p.o.Now()
	var out []Result
	var total int64
	for _, e := range store.ExpiredKinds {
		keep := p.o.Policy.keep(e)
		if keep == 0 {
			continue
		}
		r, err := p.purge(ctx, e, start.Add(-keep))
		out = append(out, r)
		total += r.Deleted
		if err != nil {
			return out, err
		}
	}
	if len(out) > 0 {
		p.log.InfoContext(ctx, "retention pass done", slog.Int64("deleted", total),
			slog.Duration("took", p.o.Now().Sub(start)))
	}
	return out, nil
}

// purge deletes rows of kind e older than before, batch by batch.
func (p *Purger) purge(ctx context.Context, e store.Expired, before time.Time) (Result, error) {
	r := Result{Kind: e, Before: before}
	deleted := p.o.Metrics.Deleted.WithLabelValues(e.Table())
	for {
		bctx, cancel := context.WithTimeout(ctx, batchTimeout)
		n, err := p.o.Store.PurgeBatch(bctx, e, before, p.o.BatchSize)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			p.o.Metrics.Errors.WithLabelValues(e.Table()).Inc()
			return r, fmt.Errorf("purge %s: %w", e, err)
		}
		r.Deleted += n
		r.Batches++
		deleted.Add(float64(n))
		if n < int64(p.o.BatchSize) {
			break
		}
		// The pause leaves the tables to the relay and the legacy writers
		// between two batches.
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(p.o.Pause):
		}
	}
	if r.Deleted > 0 {
		p.log.InfoContext(ctx, "deleted expired rows", slog.String("table", e.Table()), slog.String("kind", e.String()),
			slog.Int64("rows", r.Deleted), slog.Int("batches", r.Batches), slog.Time("before", before))
	}
	return r, nil
}

// Planned is what a pass would delete of one kind now.
type Planned struct {
	Kind   store.Expired
	Before time.Time
	store.Preview
}

// Preview counts what a pass would delete now, kind by kind, without
// deleting anything; kinds kept forever are left out.
func (p *Purger) Preview(ctx context.Context) ([]Planned, error) {
	now := p.o.Now()
	var out []Planned
	for _, e := range store.ExpiredKinds {
		keep := p.o.Policy.keep(e)
		if keep == 0 {
			continue
		}
		before := now.Add(-keep)
		pv, err := p.o.Store.PreviewPurge(ctx, e, before)
		if err != nil {
			return out, err
		}
		out = append(out, Planned{Kind: e, Before: before, Preview: pv})
	}
	return out, nil
}

// Start runs a pass now and then every Options.Every until ctx ends or
// Stop is called; it returns once the loop runs. An instance that does
// not hold the lock skips the pass; errors are logged and the next pass
// tries again.
func (p *Purger) Start(ctx context.Context) {
	ctx, p.stop = context.WithCancel(ctx)
	p.done = make(chan struct{})
	started := make(chan struct{})
	go func() {
		defer close(p.done)
		close(started)
		t := time.NewTicker(p.o.Every)
		defer t.Stop()
		for {
			p.runLogged(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	<-started
}

func (p *Purger) runLogged(ctx context.Context) {
	_, err := p.RunOnce(ctx)
	switch {
	case err == nil, errors.Is(err, ErrNotHolder):
	case ctx.Err() != nil:
		p.log.InfoContext(ctx, "retention pass stopped", slog.Any("error", err))
	default:
		p.log.WarnContext(ctx, "retention pass failed; the next one goes on", slog.Any("error", err),
			slog.Duration("next_in", p.o.Every))
	}
}

// Stop ends the loop and waits for a batch in flight to finish, or for
// ctx. Safe to call twice, and before Start.
func (p *Purger) Stop(ctx context.Context) error {
	if p.stop == nil {
		return nil
	}
	p.once.Do(p.stop)
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop retention: %w", ctx.Err())
	}
}
