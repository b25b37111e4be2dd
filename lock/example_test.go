package lock_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/syncd-dev/syncd/lock"
)

func ExampleLocalLocker() {
	ctx := context.Background()
	locker := lock.NewLocal()

	lease, err := locker.TryAcquire(ctx, "shard-3")
	if err != nil {
		panic(err)
	}
	_, err = locker.TryAcquire(ctx, "shard-3")
	fmt.Println(errors.Is(err, lock.ErrNotAcquired))

	// Work on the shard with lease.Context(); it ends when the lease does.
	_ = lease.Release(ctx)
	fmt.Println(lease.Context().Err())
	// Output:
	// true
	// context canceled
}
