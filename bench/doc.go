// Package bench measures the relay's throughput on a real MariaDB/MySQL or
// PostgreSQL server and, on MySQL, compares it with a naive poller, the kind of loop a legacy
// team writes by hand: select every pending row, then per row and each
// statement autocommitted, bump the conversation's sequence, insert the
// history row and mark the row sent.
//
// Every run works in a scratch database of its own (syncd_bench_<random>)
// and a random Redis key prefix, so it disturbs neither other databases nor
// other syncd instances; [Scratch.Close] drops both. [Run] is the whole
// benchmark that `syncd bench relay` prints; the [Scratch] methods are its
// steps, for the Go benchmarks and tests of this package.
//
// The syncd side is the production code: each instance is a poller.Poller
// with its own store.Store pool, a Redis shard locker with its own owner
// name and a bridge without a bot. Only a thin wrapper times the store
// calls the poller makes, so that a slow run says which step was slow.
package bench
