package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// RelayNaive relays the pending backlog with the given number of naive
// pollers running at once, into naive_chat_messages, and returns the time
// until every poller found nothing left to do. With one poller it fails
// with ErrIncorrect unless every row was relayed exactly once; with more,
// the double relays are the finding and are only counted.
func (s *Scratch) RelayNaive(ctx context.Context, instances int) (Result, error) {
	r := Result{Poller: "naive", Instances: instances}
	backlog, err := s.backlog(ctx)
	if err != nil {
		return r, err
	}
	r.Backlog = backlog
	fmt.Fprintf(s.progress, "relaying %d rows with %d naive poller(s)\n", backlog, instances)

	// Each poller has its own pool, like a separate process. The DSN is
	// syncd's (one round trip a statement, UTC): the comparison is of the
	// relay's design, not of driver settings.
	pools := make([]*sql.DB, instances)
	for i := range pools {
		db, err := sql.Open("mysql", s.dsn)
		if err != nil {
			return r, fmt.Errorf("open naive poller's pool: %w", err)
		}
		db.SetMaxOpenConns(1)
		defer db.Close()
		if err := db.PingContext(ctx); err != nil {
			return r, fmt.Errorf("connect naive poller: %w", err)
		}
		pools[i] = db
	}

	before, err := s.counters(ctx)
	if err != nil {
		return r, err
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	errs := make([]error, instances)
	var wg sync.WaitGroup
	start := time.Now()
	for i, db := range pools {
		wg.Go(func() { errs[i] = naivePoll(rctx, db) })
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	if after, err := s.counters(ctx); err == nil {
		r.Server = after.minus(before)
	}
	if err := s.tally(ctx, &r, "naive_chat_messages"); err != nil {
		return r, err
	}
	if instances == 1 {
		return r, r.exactlyOnce()
	}
	if r.NotSent != 0 || r.Missing != 0 {
		return r, fmt.Errorf("naive run: %d rows not sent, %d sent rows missing from history: %w", r.NotSent, r.Missing, ErrIncorrect)
	}
	return r, nil
}

type naiveRow struct {
	id         int64
	key, body  string
	sender     sql.NullString
	kind       string
	payload    sql.NullString
	receivedAt time.Time
}

// naivePoll is the hand-written poller: read everything pending, then per
// row bump the conversation's counter, read it back, insert the history row
// and mark the row sent, every statement in its own autocommit
// transaction. Nothing stops a second copy from relaying the same rows.
func naivePoll(ctx context.Context, db *sql.DB) error {
	for {
		batch, err := naivePending(ctx, db)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		for _, m := range batch {
			now := time.Now().UTC()
			if _, err := db.ExecContext(ctx, `INSERT INTO conversations (conversation_key, last_seq, last_message_at, updated_at)
VALUES (?, 1, ?, ?) ON DUPLICATE KEY UPDATE last_seq = last_seq + 1, last_message_at = VALUES(last_message_at), updated_at = VALUES(updated_at)`,
				m.key, m.receivedAt, now); err != nil {
				return fmt.Errorf("naive: bump sequence of %s: %w", m.key, err)
			}
			var seq int64
			if err := db.QueryRowContext(ctx, `SELECT last_seq FROM conversations WHERE conversation_key = ?`, m.key).Scan(&seq); err != nil {
				return fmt.Errorf("naive: read sequence of %s: %w", m.key, err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO naive_chat_messages
(conversation_key, seq, sender_type, sender_name, kind, body, payload, source_table, source_id, created_at)
VALUES (?, ?, 'customer', ?, ?, ?, ?, 'message_sync', ?, ?)`,
				m.key, seq, m.sender, m.kind, m.body, m.payload, m.id, m.receivedAt); err != nil {
				return fmt.Errorf("naive: insert history of row %d: %w", m.id, err)
			}
			if _, err := db.ExecContext(ctx, `UPDATE message_sync SET status = 'sent', processed_at = ? WHERE id = ?`, now, m.id); err != nil {
				return fmt.Errorf("naive: mark row %d sent: %w", m.id, err)
			}
		}
	}
}

func naivePending(ctx context.Context, db *sql.DB) ([]naiveRow, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, conversation_key, body, sender_name, kind, payload, created_at
FROM message_sync WHERE status = 'pending' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("naive: select pending rows: %w", err)
	}
	defer rows.Close()
	var out []naiveRow
	for rows.Next() {
		var m naiveRow
		if err := rows.Scan(&m.id, &m.key, &m.body, &m.sender, &m.kind, &m.payload, &m.receivedAt); err != nil {
			return nil, fmt.Errorf("naive: select pending rows: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("naive: select pending rows: %w", err)
	}
	return out, nil
}
