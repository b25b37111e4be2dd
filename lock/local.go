package lock

import (
	"context"
	"fmt"
	"sync"
)

var _ Locker = (*LocalLocker)(nil)

// LocalLocker is a Locker whose locks exclude only within this process, for
// a single instance that runs without Redis. Its leases never expire, so they
// are never lost; they end when released. The zero value is not usable: call
// NewLocal.
type LocalLocker struct {
	mu   sync.Mutex
	held map[string]*localLease
}

// NewLocal returns a LocalLocker holding no locks.
func NewLocal() *LocalLocker {
	return &LocalLocker{held: make(map[string]*localLease)}
}

// TryAcquire takes key if nobody in this process holds it.
func (l *LocalLocker) TryAcquire(ctx context.Context, key string) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("acquire lock %q: %w", key, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[key]; ok {
		return nil, fmt.Errorf("acquire lock %q: %w", key, ErrNotAcquired)
	}
	leaseCtx, cancel := context.WithCancelCause(ctx)
	lease := &localLease{locker: l, key: key, ctx: leaseCtx, cancel: cancel}
	l.held[key] = lease
	return lease, nil
}

// Holder returns "local" when key is held in this process, else "".
func (l *LocalLocker) Holder(_ context.Context, key string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[key]; ok {
		return "local", nil
	}
	return "", nil
}

// Distributed is false: other processes are not excluded.
func (l *LocalLocker) Distributed() bool { return false }

// Ping returns nil: there is no service to ask.
func (l *LocalLocker) Ping(context.Context) error { return nil }

type localLease struct {
	locker *LocalLocker
	key    string
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func (l *localLease) Context() context.Context { return l.ctx }

func (l *localLease) Release(context.Context) error {
	l.cancel(errReleased)
	l.locker.mu.Lock()
	defer l.locker.mu.Unlock()
	if l.locker.held[l.key] == l {
		delete(l.locker.held, l.key)
	}
	return nil
}
