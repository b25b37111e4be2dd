package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/syncd-dev/syncd/internal/outage"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/store"
)

// Store is what the worker needs of the database.
type Store interface {
	ClaimDeliveries(ctx context.Context, claimer string, limit int, lease time.Duration) (*store.DeliveryClaim, error)
	FinishDelivery(ctx context.Context, c *store.DeliveryClaim, id int64, r store.DeliveryResult) error
	ReleaseDeliveries(ctx context.Context, c *store.DeliveryClaim, ids []int64) (int64, error)
	TakeBackDeliveries(ctx context.Context) (int64, error)
	DeliveryBacklog(ctx context.Context) (int64, error)
}

// LockKey is the lock the delivering instance holds.
const LockKey = "webhook"

// Options configure a Worker; config's webhook section documents them.
type Options struct {
	Store       Store
	Locker      lock.Locker
	Metrics     *Metrics // nil: none
	Logger      *slog.Logger
	Instance    string
	URL         string
	Secret      string
	UserAgent   string
	Timeout     time.Duration
	MaxAttempts int
	BackoffBase time.Duration
	BackoffMax  time.Duration
	Lease       time.Duration
	BatchSize   int
	Interval    time.Duration
}

// Worker delivers replies until its Run's context ends.
type Worker struct {
	o       Options
	send    *sender
	log     *slog.Logger
	failing outage.Log
}

// New checks the options and returns a worker.
func New(o Options) (*Worker, error) {
	if o.Store == nil || o.Locker == nil {
		return nil, errors.New("webhook: Store and Locker are required")
	}
	if o.Secret == "" {
		return nil, errors.New("webhook: a secret is required")
	}
	if o.Timeout <= 0 || o.Lease < 2*o.Timeout {
		return nil, fmt.Errorf("webhook: lease (%s) must be at least twice the timeout (%s)", o.Lease, o.Timeout)
	}
	if o.MaxAttempts < 1 || o.BatchSize < 1 || o.Interval <= 0 || o.BackoffBase <= 0 || o.BackoffMax < o.BackoffBase {
		return nil, errors.New("webhook: max attempts, batch size, interval and backoff must be positive")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.UserAgent == "" {
		o.UserAgent = "syncd-webhook"
	}
	s, err := newSender(o.URL, []byte(o.Secret), o.Timeout, o.UserAgent)
	if err != nil {
		return nil, err
	}
	return &Worker{o: o, send: s, log: o.Logger.With(slog.String("component", "webhook"))}, nil
}

// Run delivers until ctx ends: every Interval it takes the lock, takes back
// claims whose lease ran out, and delivers what is due. A POST in flight
// when ctx ends is cancelled and its reply released for the next holder.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.o.Interval)
	defer t.Stop()
	for {
		w.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Worker) round(ctx context.Context) {
	if n, err := w.o.Store.DeliveryBacklog(ctx); err != nil {
		if ctx.Err() == nil {
			w.failing.Warn(w.log, "backlog", "count replies to deliver", err)
		}
	} else {
		w.failing.OK(w.log, "backlog")
		w.o.Metrics.setBacklog(n)
	}
	lease, err := w.o.Locker.TryAcquire(ctx, LockKey)
	if errors.Is(err, lock.ErrNotAcquired) {
		return // another instance delivers
	}
	if err != nil {
		if ctx.Err() == nil {
			w.failing.Warn(w.log, "lock", "cannot take the webhook lock; will retry", err)
		}
		return
	}
	w.failing.OK(w.log, "lock")
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = lease.Release(rctx)
	}()
	lctx := lease.Context() // cancelled if the lock is lost
	if n, err := w.o.Store.TakeBackDeliveries(lctx); err != nil {
		if lctx.Err() == nil {
			w.failing.Warn(w.log, "take_back", "take back abandoned deliveries", err)
		}
		return
	} else if n > 0 {
		w.log.Info("took back deliveries whose lease ran out; delivering them again", slog.Int64("replies", n))
	}
	for lctx.Err() == nil {
		c, err := w.o.Store.ClaimDeliveries(lctx, w.o.Instance, w.o.BatchSize, w.o.Lease)
		if err != nil {
			if lctx.Err() == nil {
				w.failing.Warn(w.log, "claim", "claim replies to deliver", err)
			}
			return
		}
		w.failing.OK(w.log, "claim")
		if len(c.Replies) == 0 {
			return
		}
		if !w.deliver(lctx, c) || len(c.Replies) < w.o.BatchSize {
			return
		}
	}
}

// deliver POSTs a claim's replies in order and writes back each result. It
// stops at the first failure that is worth a retry (the receiver is down:
// one POST per round probes it, and the others keep their attempts), when
// the lease left is too short for another POST, or when ctx ends, and
// releases what it did not POST. It reports whether all were POSTed.
func (w *Worker) deliver(ctx context.Context, c *store.DeliveryClaim) bool {
	for i, d := range c.Replies {
		// The write-back after the POST must also land inside the lease:
		// a reply is never POSTed by one instance while another may claim it.
		if ctx.Err() != nil || time.Until(c.LeaseUntil) < w.o.Timeout+w.o.Timeout/2 {
			w.release(ctx, c, c.Replies[i:])
			return false
		}
		o := w.send.post(ctx, d, d.Attempts+1)
		if ctx.Err() != nil && !o.delivered {
			w.release(ctx, c, c.Replies[i:]) // stopping: the next holder POSTs it again
			return false
		}
		res, result := w.result(d, o)
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := w.o.Store.FinishDelivery(wctx, c, d.ID, res)
		cancel()
		switch {
		case errors.Is(err, store.ErrDeliveryLost):
			w.o.Metrics.count("lost")
			w.log.Warn("delivery result not written: the claim was taken back (its lease ran out); the reply is delivered again",
				slog.Int64("reply", d.ID))
			return false // the rest of the claim was taken back with it
		case err != nil:
			// The reply stays processing until its lease runs out; then it
			// is taken back and POSTed again (at least once).
			w.failing.Warn(w.log, "write_back", "write back delivery result; delivered again after the lease", err, slog.Int64("reply", d.ID))
			w.release(ctx, c, c.Replies[i+1:])
			return false
		default:
			w.failing.OK(w.log, "write_back")
			w.o.Metrics.count(result)
		}
		switch result {
		case "delivered":
			w.failing.OK(w.log, "receiver")
		case "failed":
			w.log.Warn("reply not delivered: gave up", slog.Int64("reply", d.ID), slog.Int("attempts", d.Attempts+1), slog.String("error", o.err))
		case "retried":
			w.failing.Warn(w.log, "receiver", "webhook receiver failed; retrying with backoff", errors.New(o.err),
				slog.Int64("reply", d.ID), slog.Time("retry_at", res.RetryAt))
			w.release(ctx, c, c.Replies[i+1:])
			return false
		}
	}
	return true
}

// result turns a POST's outcome into the row's new state and the metric's
// result label.
func (w *Worker) result(d store.Delivery, o outcome) (store.DeliveryResult, string) {
	attempt := d.Attempts + 1
	switch {
	case o.delivered:
		return store.DeliveryResult{Delivered: true}, "delivered"
	case o.permanent:
		return store.DeliveryResult{Error: "refused by the receiver (not retried): " + o.err}, "failed"
	case attempt >= w.o.MaxAttempts:
		return store.DeliveryResult{Error: fmt.Sprintf("gave up after %d attempts (webhook.max_attempts): %s", attempt, o.err)}, "failed"
	}
	delay := max(Backoff(attempt, w.o.BackoffBase, w.o.BackoffMax), min(o.retryAfter, w.o.BackoffMax))
	return store.DeliveryResult{Error: o.err, RetryAt: time.Now().Add(delay)}, "retried"
}

func (w *Worker) release(ctx context.Context, c *store.DeliveryClaim, rest []store.Delivery) {
	if len(rest) == 0 {
		return
	}
	ids := make([]int64, len(rest))
	for i, d := range rest {
		ids[i] = d.ID
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := w.o.Store.ReleaseDeliveries(rctx, c, ids); err != nil {
		// They wait for their lease to run out, then the take-back.
		w.failing.Warn(w.log, "release", "release claimed replies; they wait for their lease", err)
	}
}

// Backoff is the delay before retry number attempt (1 after the first
// failure): base doubled per attempt up to hi, with jitter in its upper
// half so that retries of many replies spread out.
func Backoff(attempt int, base, hi time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}
