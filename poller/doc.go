// Package poller drives the relay: a robfig/cron schedule queues every shard,
// a fixed pool of workers takes shards from the queue, and each shard run
// holds the shard's lock while it drains the shard batch by batch: claim,
// convert, commit (fenced), publish. Retries back off with jitter and hold
// back the rest of their conversation. Each tick also sweeps a slice of the
// buckets for processing rows that no claim covers (set by hand, or by an
// older syncd), so the whole table is swept once per lease.
package poller
