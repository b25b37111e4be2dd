package lock

import (
	"context"
	"errors"
)

// ErrNotAcquired means another holder has the lock right now.
var ErrNotAcquired = errors.New("lock held by another instance")

// Locker hands out exclusive, self-extending leases on named keys.
type Locker interface {
	// TryAcquire makes one attempt to take key. It returns ErrNotAcquired
	// (wrapped or not) when someone else holds it, and another error when
	// the lock service could not be asked.
	TryAcquire(ctx context.Context, key string) (Lease, error)
	// Holder reports who holds key ("" when nobody does), for status output.
	Holder(ctx context.Context, key string) (string, error)
	// Distributed is true when the lock excludes other processes, so a new
	// holder may assume the previous one is gone.
	Distributed() bool
	// Ping checks that the lock service answers, for readiness.
	Ping(ctx context.Context) error
}

// Lease is a held lock. It extends itself in the background until released.
type Lease interface {
	// Context is derived from the ctx given to TryAcquire and is cancelled
	// the moment the lease is lost (an extension failed) or released.
	// Once the ctx given to TryAcquire is done, the lease stops extending
	// itself; it is still held until it expires or is released.
	Context() context.Context
	// Release stops the extension, cancels Context and gives the lock up.
	// Safe to call twice, also concurrently; later calls return the first
	// call's result. Releasing a lease that was already lost is not an error.
	Release(ctx context.Context) error
}
