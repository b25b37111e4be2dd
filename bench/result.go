package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	schema "github.com/syncd-dev/syncd/sql"
)

// ErrIncorrect means a relay run did not end with every row sent and
// relayed exactly once (the naive pollers' double relays excepted: counting
// them is the point of running two).
var ErrIncorrect = errors.New("relay result is incorrect")

// Result is one relay run and what it left in the database.
type Result struct {
	Poller    string        // "syncd", "naive", Loop or LoopHistory
	Instances int           // pollers that ran at once
	Backlog   int           // rows pending when the run started
	Elapsed   time.Duration // from start until no row was pending or processing

	Sent       int64 // rows with status sent
	NotSent    int64 // rows in any other status
	History    int64 // history rows written for the backlog
	Missing    int64 // sent rows without a history row
	Duplicated int64 // rows with more than one history row
	// SeqCollisions counts (conversation, seq) pairs held by more than one
	// history row; SeqGaps counts conversations whose seqs are not 1..n.
	SeqCollisions int64
	SeqGaps       int64
	// OutOfOrder counts neighbours in a conversation's history (seq n and
	// n+1) whose source rows are in the other order.
	OutOfOrder int64
	// NoHistory marks the bare claim loop, which writes no history: History
	// is then the rows it acknowledged, Duplicated those acknowledged twice.
	NoHistory bool
	// Retries counts the claim loops' statements and transactions run
	// again after a deadlock or lock wait timeout.
	Retries int64

	// Purged is what a retention pass beside the run deleted of the
	// expired rows (Config.Purge), PurgeLeft what it had still to delete
	// when the run ended.
	Purged, PurgeLeft int64

	// Steps times the store calls of the syncd pollers, summed over their
	// workers (so they may add up to more than Elapsed).
	Steps []Step
	// Server is what the database server counted during the run. It is
	// server-wide: other clients of the same server are counted too.
	Server ServerCounters
}

// RowsPerSecond is the backlog over the elapsed time.
func (r Result) RowsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Backlog) / r.Elapsed.Seconds()
}

// Step is the time spent in one kind of store call.
type Step struct {
	Name   string
	Calls  int64
	Empty  int64  // calls that found no rows
	Errors int64  // calls that failed (a deadlock, a lost claim)
	Rows   int64  // rows claimed, committed or taken back by those calls
	Unit   string // what Rows counts: "rows", or "shards due" for the probe
	Total  time.Duration
}

// exactlyOnce checks the run against the contract: every row sent, one
// history row each, gapless sequences in the rows' order.
func (r Result) exactlyOnce() error {
	if r.OutOfOrder != 0 {
		err := fmt.Errorf("%s run: %d history neighbours out of their rows' order: %w", r.Poller, r.OutOfOrder, ErrIncorrect)
		return errors.Join(err, r.exactlyOnceAnyOrder())
	}
	return r.exactlyOnceAnyOrder()
}

// exactlyOnceAnyOrder is exactlyOnce without the order of each
// conversation's history, which the claim loop with several claimers does
// not keep.
func (r Result) exactlyOnceAnyOrder() error {
	var bad []string
	add := func(n int64, what string) {
		if n != 0 {
			bad = append(bad, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(r.NotSent, "rows not sent")
	add(r.Missing, "sent rows missing from history")
	add(r.Duplicated, "rows relayed more than once")
	add(r.SeqCollisions, "sequence numbers used twice")
	add(r.SeqGaps, "conversations with sequence gaps")
	if r.History != int64(r.Backlog) {
		bad = append(bad, fmt.Sprintf("%d history rows for %d rows", r.History, r.Backlog))
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%s run: %s: %w", r.Poller, strings.Join(bad, ", "), ErrIncorrect)
}

// tally fills the result's counts from message_sync and the history table.
func (s *Scratch) tally(ctx context.Context, r *Result, history string) error {
	queries := []struct {
		into *int64
		q    string
	}{
		{&r.Sent, `SELECT COUNT(*) FROM message_sync WHERE status = 'sent' AND conversation_key <> '` + expiredKey + `'`},
		{&r.NotSent, `SELECT COUNT(*) FROM message_sync WHERE status <> 'sent'`},
		{&r.History, `SELECT COUNT(*) FROM ` + history + ` WHERE source_table = 'message_sync'`},
		{&r.Missing, `SELECT COUNT(*) FROM message_sync m WHERE m.status = 'sent' AND m.conversation_key <> '` + expiredKey + `' AND NOT EXISTS
(SELECT 1 FROM ` + history + ` h WHERE h.source_table = 'message_sync' AND h.source_id = m.id)`},
		{&r.Duplicated, `SELECT COUNT(*) FROM (SELECT source_id FROM ` + history + `
WHERE source_table = 'message_sync' GROUP BY source_id HAVING COUNT(*) > 1) d`},
		{&r.SeqCollisions, `SELECT COUNT(*) FROM (SELECT conversation_key FROM ` + history + `
GROUP BY conversation_key, seq HAVING COUNT(*) > 1) d`},
		{&r.SeqGaps, `SELECT COUNT(*) FROM (SELECT conversation_key FROM ` + history + `
GROUP BY conversation_key HAVING MIN(seq) <> 1 OR MAX(seq) <> COUNT(*)) g`},
	}
	queries = append(queries, struct {
		into *int64
		q    string
	}{&r.OutOfOrder, `SELECT COUNT(*) FROM ` + history + ` a JOIN ` + history + ` b
ON b.conversation_key = a.conversation_key AND b.seq = a.seq + 1 WHERE b.source_id < a.source_id`})
	for _, q := range queries {
		if err := s.db.QueryRowContext(ctx, q.q).Scan(q.into); err != nil {
			return fmt.Errorf("check the relay's result: %w", err)
		}
	}
	return nil
}

// tallySent fills only the status counts, for a run without history.
func (s *Scratch) tallySent(ctx context.Context, r *Result) error {
	for _, q := range []struct {
		into *int64
		q    string
	}{
		{&r.Sent, `SELECT COUNT(*) FROM message_sync WHERE status = 'sent' AND conversation_key <> '` + expiredKey + `'`},
		{&r.NotSent, `SELECT COUNT(*) FROM message_sync WHERE status <> 'sent'`},
	} {
		if err := s.db.QueryRowContext(ctx, q.q).Scan(q.into); err != nil {
			return fmt.Errorf("check the relay's result: %w", err)
		}
	}
	return nil
}

// ServerCounters are differences of the server's global status counters
// over a run.
type ServerCounters struct {
	// Statements (Com_*) on MySQL; on PostgreSQL, which counts no
	// statements, Inserts, Updates and Deletes are rows (tup_*) and
	// Selects stays zero.
	Selects, Inserts, Updates, Deletes, Commits int64
	Fsyncs                                      int64 // Innodb_data_fsyncs: redo log and data file flushes; PostgreSQL: WAL syncs
	RowsRead                                    int64 // the sum of Handler_read_*: index and table reads; PostgreSQL: tup_fetched
	// LogBytes is the redo log written (Innodb_os_log_written; PostgreSQL:
	// pg_stat_wal.wal_bytes, server-wide).
	LogBytes int64
	// Scans and Returned are PostgreSQL's only: index and sequential scans
	// started on the scratch database's tables (pg_stat_user_tables; an
	// index scan by an IN list counts one per value before PostgreSQL 17,
	// so this is not a statement count), and index entries and
	// sequential-scan rows read (tup_returned).
	Scans, Returned int64
	LockWaits       int64 // Innodb_row_lock_waits
	LockWait        time.Duration
	Deadlocks       int64 // Innodb_deadlocks
	// CPU is the server processes' CPU time (serverCPU), negative when
	// the server is not on this machine.
	CPU time.Duration
}

func (s *Scratch) counters(ctx context.Context) (ServerCounters, error) {
	var c ServerCounters
	var err error
	if s.dialect == schema.Postgres {
		c, err = s.pgCounters(ctx)
	} else {
		c, err = s.mysqlCounters(ctx)
	}
	c.CPU = serverCPU(s.cfg.DSN)
	return c, err
}

func (s *Scratch) mysqlCounters(ctx context.Context) (ServerCounters, error) {
	var c ServerCounters
	rows, err := s.db.QueryContext(ctx, `SHOW GLOBAL STATUS WHERE Variable_name IN
('Com_select', 'Com_insert', 'Com_update', 'Com_delete', 'Com_commit', 'Innodb_data_fsyncs', 'Innodb_os_log_written',
 'Innodb_row_lock_waits', 'Innodb_row_lock_time', 'Innodb_deadlocks') OR Variable_name LIKE 'Handler_read%'`)
	if err != nil {
		return c, fmt.Errorf("read server counters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return c, fmt.Errorf("read server counters: %w", err)
		}
		switch {
		case name == "Com_select":
			c.Selects = v
		case name == "Com_insert":
			c.Inserts = v
		case name == "Com_update":
			c.Updates = v
		case name == "Com_delete":
			c.Deletes = v
		case name == "Innodb_os_log_written":
			c.LogBytes = v
		case name == "Com_commit":
			c.Commits = v
		case name == "Innodb_data_fsyncs":
			c.Fsyncs = v
		case name == "Innodb_row_lock_waits":
			c.LockWaits = v
		case name == "Innodb_row_lock_time":
			c.LockWait = time.Duration(v) * time.Millisecond
		case name == "Innodb_deadlocks":
			c.Deadlocks = v
		case strings.HasPrefix(name, "Handler_read"):
			c.RowsRead += v
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("read server counters: %w", err)
	}
	return c, nil
}

func (c ServerCounters) minus(o ServerCounters) ServerCounters {
	d := ServerCounters{
		Selects: c.Selects - o.Selects, Inserts: c.Inserts - o.Inserts, Updates: c.Updates - o.Updates, Deletes: c.Deletes - o.Deletes,
		Commits: c.Commits - o.Commits, Fsyncs: c.Fsyncs - o.Fsyncs, RowsRead: c.RowsRead - o.RowsRead,
		LogBytes: c.LogBytes - o.LogBytes, Scans: c.Scans - o.Scans, Returned: c.Returned - o.Returned,
		LockWaits: c.LockWaits - o.LockWaits, LockWait: c.LockWait - o.LockWait, Deadlocks: c.Deadlocks - o.Deadlocks,
		CPU: c.CPU - o.CPU,
	}
	if c.CPU < 0 || o.CPU < 0 {
		d.CPU = -1
	}
	return d
}

// pgCounters reads PostgreSQL's cumulative statistics of the scratch
// database: rows fetched for RowsRead, rows inserted and updated for
// Inserts and Updates, commits, deadlocks, and WAL syncs (pg_stat_wal,
// PostgreSQL 14+) for Fsyncs. PostgreSQL counts neither statements by kind
// nor lock waits, so Selects and the lock-wait fields stay zero. Backends
// report their statistics at most once a second, when a transaction ends
// or soon after they go idle, so the reading waits a little over a second
// first: without that a run's last batches, or the seeding before it,
// land in the wrong run.
func (s *Scratch) pgCounters(ctx context.Context) (ServerCounters, error) {
	var c ServerCounters
	select {
	case <-ctx.Done():
		return c, ctx.Err()
	case <-time.After(pgStatsDelay):
	}
	err := s.db.QueryRowContext(ctx, `SELECT xact_commit, tup_fetched, tup_returned, tup_inserted, tup_updated, tup_deleted, deadlocks
FROM pg_stat_database WHERE datname = current_database()`).Scan(&c.Commits, &c.RowsRead, &c.Returned, &c.Inserts, &c.Updates, &c.Deletes, &c.Deadlocks)
	if err != nil {
		return c, fmt.Errorf("read server counters: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0)), 0) FROM pg_stat_user_tables`).Scan(&c.Scans); err != nil {
		return c, fmt.Errorf("read server counters: %w", err)
	}
	// pg_stat_wal is server-wide and new in 14: best effort.
	_ = s.db.QueryRowContext(ctx, `SELECT wal_sync, wal_bytes FROM pg_stat_wal`).Scan(&c.Fsyncs, &c.LogBytes)
	return c, nil
}

// pgStatsDelay is how long PostgreSQL backends may hold their statistics
// (PGSTAT_MIN_INTERVAL, 1 s) and a margin.
const pgStatsDelay = 1200 * time.Millisecond
