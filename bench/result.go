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
	Poller    string        // "syncd" or "naive"
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
// history row each, gapless sequences.
func (r Result) exactlyOnce() error {
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
	for _, q := range queries {
		if err := s.db.QueryRowContext(ctx, q.q).Scan(q.into); err != nil {
			return fmt.Errorf("check the relay's result: %w", err)
		}
	}
	return nil
}

// ServerCounters are differences of the server's global status counters
// over a run.
type ServerCounters struct {
	Selects, Inserts, Updates, Commits int64 // statements (Com_*)
	Fsyncs                             int64 // Innodb_data_fsyncs: redo log and data file flushes
	RowsRead                           int64 // the sum of Handler_read_*: index and table reads
	LockWaits                          int64 // Innodb_row_lock_waits
	LockWait                           time.Duration
	Deadlocks                          int64 // Innodb_deadlocks
}

func (s *Scratch) counters(ctx context.Context) (ServerCounters, error) {
	if s.dialect == schema.Postgres {
		return s.pgCounters(ctx)
	}
	var c ServerCounters
	rows, err := s.db.QueryContext(ctx, `SHOW GLOBAL STATUS WHERE Variable_name IN
('Com_select', 'Com_insert', 'Com_update', 'Com_commit', 'Innodb_data_fsyncs',
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
	return ServerCounters{
		Selects: c.Selects - o.Selects, Inserts: c.Inserts - o.Inserts, Updates: c.Updates - o.Updates,
		Commits: c.Commits - o.Commits, Fsyncs: c.Fsyncs - o.Fsyncs, RowsRead: c.RowsRead - o.RowsRead,
		LockWaits: c.LockWaits - o.LockWaits, LockWait: c.LockWait - o.LockWait, Deadlocks: c.Deadlocks - o.Deadlocks,
	}
}

// pgCounters reads PostgreSQL's cumulative statistics of the scratch
// database: rows fetched for RowsRead, rows inserted and updated for
// Inserts and Updates, commits, deadlocks, and WAL syncs (pg_stat_wal,
// PostgreSQL 14+) for Fsyncs. PostgreSQL counts neither statements by kind
// nor lock waits, so Selects and the lock-wait fields stay zero. Backends
// report their statistics when a transaction ends, so a reading taken
// right after a run may miss the last few.
func (s *Scratch) pgCounters(ctx context.Context) (ServerCounters, error) {
	var c ServerCounters
	err := s.db.QueryRowContext(ctx, `SELECT xact_commit, tup_fetched, tup_inserted, tup_updated, deadlocks
FROM pg_stat_database WHERE datname = current_database()`).Scan(&c.Commits, &c.RowsRead, &c.Inserts, &c.Updates, &c.Deadlocks)
	if err != nil {
		return c, fmt.Errorf("read server counters: %w", err)
	}
	// pg_stat_wal is server-wide and new in 14: best effort.
	_ = s.db.QueryRowContext(ctx, `SELECT wal_sync FROM pg_stat_wal`).Scan(&c.Fsyncs)
	return c, nil
}
