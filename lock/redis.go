package lock

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"
)

var _ Locker = (*RedisLocker)(nil)

// errReleased is the cause of a lease context cancelled by Release.
var errReleased = errors.New("lease released")

// RedisOptions configures a RedisLocker. The zero value of every field means
// its default.
type RedisOptions struct {
	// TTL is how long a lock lives in Redis without an extension; a lease
	// extends it every TTL/3. Default 8s.
	TTL time.Duration
	// Prefix is put before every key to form the Redis key.
	// Default "syncd:lock:".
	Prefix string
	// Owner names this instance in the lock value ("Owner:random"), so that
	// Holder can report who holds a key. Default "hostname-pid".
	Owner string
	// Logger receives a warning when a lease is lost. Default slog.Default().
	Logger *slog.Logger
}

// RedisLocker is a Locker on one Redis, through redsync. It excludes every
// process that uses the same Redis and Prefix. It does not own the client:
// the caller closes it after releasing every lease.
type RedisLocker struct {
	client redis.UniversalClient
	rs     *redsync.Redsync
	ttl    time.Duration
	prefix string
	owner  string
	logger *slog.Logger
}

// NewRedis returns a RedisLocker that keeps its locks in client.
func NewRedis(client redis.UniversalClient, opts RedisOptions) *RedisLocker {
	if opts.TTL <= 0 {
		opts.TTL = 8 * time.Second
	}
	if opts.Prefix == "" {
		opts.Prefix = "syncd:lock:"
	}
	if opts.Owner == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "syncd"
		}
		opts.Owner = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &RedisLocker{
		client: client,
		rs:     redsync.New(goredis.NewPool(client)),
		ttl:    opts.TTL,
		prefix: opts.Prefix,
		owner:  opts.Owner,
		logger: opts.Logger,
	}
}

// TryAcquire makes one attempt to take key and, on success, starts extending
// the lock every TTL/3 until the lease is released, lost or ctx is done.
func (l *RedisLocker) TryAcquire(ctx context.Context, key string) (Lease, error) {
	mutex := l.rs.NewMutex(l.prefix+key,
		redsync.WithExpiry(l.ttl),
		redsync.WithTries(1),
		// Give the attempt up to one extension period; redsync's default
		// (5% of TTL) is meant for many nodes and is too tight for one.
		redsync.WithTimeoutFactor(1.0/3),
		redsync.WithGenValueFunc(func() (string, error) {
			// rand.Text is base32, so the last ':' always ends Owner.
			return l.owner + ":" + rand.Text(), nil
		}),
	)
	if err := mutex.LockContext(ctx); err != nil {
		if isTaken(err) {
			return nil, fmt.Errorf("acquire lock %q: %w", key, ErrNotAcquired)
		}
		return nil, fmt.Errorf("acquire lock %q: %w", key, err)
	}

	leaseCtx, cancel := context.WithCancelCause(ctx)
	lease := &redisLease{
		key:    key,
		owner:  l.owner,
		mutex:  mutex,
		logger: l.logger,
		ctx:    leaseCtx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go lease.extend(l.ttl / 3)
	return lease, nil
}

// isTaken reports whether err from redsync means someone else holds the lock.
func isTaken(err error) bool {
	if errors.Is(err, redsync.ErrFailed) {
		return true
	}
	if _, ok := errors.AsType[*redsync.ErrTaken](err); ok {
		return true
	}
	_, ok := errors.AsType[redsync.ErrTaken](err)
	return ok
}

// Holder returns the Owner of whoever holds key, or "" when nobody does.
func (l *RedisLocker) Holder(ctx context.Context, key string) (string, error) {
	value, err := l.client.Get(ctx, l.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get lock holder %q: %w", key, err)
	}
	if i := strings.LastIndexByte(value, ':'); i >= 0 {
		value = value[:i]
	}
	return value, nil
}

// Distributed is true: the lock excludes other processes.
func (l *RedisLocker) Distributed() bool { return true }

// Ping checks that Redis answers.
func (l *RedisLocker) Ping(ctx context.Context) error {
	if err := l.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// redisLease is a held redsync mutex and the goroutine that extends it.
type redisLease struct {
	key    string
	owner  string
	mutex  *redsync.Mutex
	logger *slog.Logger

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when extend returns

	releaseOnce sync.Once
	releaseErr  error
}

func (l *redisLease) Context() context.Context { return l.ctx }

// extend extends the lock every period until the lease context ends. When an
// extension fails it cancels the lease context: the lock may now be someone
// else's, so the work under it must stop.
func (l *redisLease) extend(period time.Duration) {
	defer close(l.done)
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-ticker.C:
		}
		ctx, cancel := context.WithTimeout(l.ctx, period)
		ok, err := l.mutex.ExtendContext(ctx)
		cancel()
		if ok {
			continue
		}
		if l.ctx.Err() != nil {
			return // released or ctx done while extending
		}
		if err == nil {
			err = redsync.ErrExtendFailed
		}
		l.logger.LogAttrs(l.ctx, slog.LevelWarn, "lock lease lost",
			slog.String("lock_key", l.key),
			slog.String("owner", l.owner),
			slog.Any("error", err),
		)
		l.cancel(fmt.Errorf("extend lock %q: %w", l.key, err))
		return
	}
}

func (l *redisLease) Release(ctx context.Context) error {
	l.releaseOnce.Do(func() {
		// Cancel first so the work stops before another instance can take
		// the lock, and so the extender exits.
		l.cancel(errReleased)
		<-l.done
		ok, err := l.mutex.UnlockContext(ctx)
		if ok || err == nil || errors.Is(err, redsync.ErrLockAlreadyExpired) || isTaken(err) {
			return // released, or already lost: either way not ours now
		}
		l.releaseErr = fmt.Errorf("release lock %q: %w", l.key, err)
	})
	return l.releaseErr
}
