// Package lock provides the shard locks that let several syncd instances
// share the relay work.
//
// A [Locker] hands out [Lease]s on named keys. A lease extends itself in the
// background; its [Lease.Context] is cancelled the moment the lease is lost or
// released, so work done under a lease should run with that context and stop
// when it ends.
//
// Two implementations sit side by side: [RedisLocker] (redsync on one Redis)
// excludes other processes and is what several instances use;
// [LocalLocker] excludes only within the process and serves a single instance
// that runs without Redis.
package lock
