package bench

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/internal/dialect"
	schema "github.com/syncd-dev/syncd/sql"
)

// The baselines: what a careful engineer writes by hand in about eighty
// lines, a single claim loop without shards, a claims table or take-back.
const (
	// Loop claims a batch, reads it back and marks it sent: no history.
	Loop = "loop"
	// LoopHistory also writes the batch to loop_chat_messages with
	// per-conversation sequences, in one transaction with the write-back.
	LoopHistory = "loop+history"
)

// baselineClaimers are the claimer counts each baseline runs with.
var baselineClaimers = []int{1, 3}

// RelayLoop relays the pending backlog with claimers copies of the claim
// loop at once (Loop, or LoopHistory when history is set) and returns the
// time until every copy found nothing left to claim. It fails with
// ErrIncorrect unless every row was sent exactly once (and, with history,
// is in loop_chat_messages exactly once with gapless sequences). The
// order of a conversation's history is counted, not required: with more
// than one claimer the loop cannot keep it (Result.OutOfOrder).
func (s *Scratch) RelayLoop(ctx context.Context, history bool, claimers int) (Result, error) {
	r := Result{Poller: Loop, Instances: claimers, NoHistory: !history}
	if history {
		r.Poller = LoopHistory
	}
	backlog, err := s.backlog(ctx)
	if err != nil {
		return r, err
	}
	r.Backlog = backlog
	fmt.Fprintf(s.progress, "relaying %d rows with %d %s claimer(s)\n", backlog, claimers, r.Poller)

	dsn, err := s.loopDSN(ctx)
	if err != nil {
		return r, err
	}
	loops := make([]*claimLoop, claimers)
	for i := range loops {
		db, err := sql.Open(s.driver(), dsn)
		if err != nil {
			return r, fmt.Errorf("open claim loop's pool: %w", err)
		}
		db.SetMaxOpenConns(1) // one connection, like a single-threaded process
		defer db.Close()
		if err := db.PingContext(ctx); err != nil {
			return r, fmt.Errorf("connect claim loop: %w", err)
		}
		loops[i] = &claimLoop{db: db, d: dialect.D(s.dialect), name: fmt.Sprintf("loop-%d", i+1), history: history, batch: s.cfg.BatchSize}
	}

	before, err := s.counters(ctx)
	if err != nil {
		return r, err
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	errs := make([]error, claimers)
	var wg sync.WaitGroup
	start := time.Now()
	for i, l := range loops {
		wg.Go(func() { errs[i] = l.run(rctx) })
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	for _, l := range loops {
		r.Retries += int64(l.retries)
	}
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	if after, err := s.counters(ctx); err == nil {
		r.Server = after.minus(before)
	}
	if history {
		if err := s.tally(ctx, &r, "loop_chat_messages"); err != nil {
			return r, err
		}
		return r, r.exactlyOnceAnyOrder()
	}
	// No history: the loops' own acknowledgements stand in for it.
	seen := map[int64]int{}
	for _, l := range loops {
		for _, id := range l.acked {
			seen[id]++
		}
	}
	if err := s.tallySent(ctx, &r); err != nil {
		return r, err
	}
	r.History = int64(len(seen))
	for _, n := range seen {
		if n > 1 {
			r.Duplicated++
		}
	}
	r.Missing = r.Sent - int64(len(seen))
	return r, r.exactlyOnce()
}

// loopDSN is the scratch database's DSN with the session syncd's store
// sets as well (READ COMMITTED; on PostgreSQL custom plans), so that the
// comparison is of the relay's design, not of session settings.
func (s *Scratch) loopDSN(ctx context.Context) (string, error) {
	if s.dialect == schema.Postgres {
		u, err := url.Parse(s.dsn)
		if err != nil {
			return "", fmt.Errorf("claim loop dsn: %w", err)
		}
		q := u.Query()
		q.Set("default_transaction_isolation", "read committed")
		q.Set("plan_cache_mode", "force_custom_plan")
		u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads + as itself
		return u.String(), nil
	}
	cfg, err := mysql.ParseDSN(s.dsn)
	if err != nil {
		return "", fmt.Errorf("claim loop dsn: %w", err)
	}
	// MariaDB before 11.1 knows only tx_isolation, MySQL 8 only
	// transaction_isolation.
	name := "transaction_isolation"
	var v string
	if err := s.db.QueryRowContext(ctx, `SELECT @@transaction_isolation`).Scan(&v); err != nil {
		name = "tx_isolation"
	}
	cfg.Params[name] = "'READ-COMMITTED'"
	return cfg.FormatDSN(), nil
}

func (s *Scratch) driver() string {
	if s.dialect == schema.Postgres {
		return "pgx"
	}
	return "mysql"
}

// claimLoop is one copy of the hand-written claim loop, on a connection
// of its own.
type claimLoop struct {
	db      *sql.DB
	d       dialect.D
	name    string
	history bool
	batch   int
	acked   []int64 // ids written back as sent, to check the bare loop
	after   int64   // the highest id this loop claimed: where its next claim starts
	retries int     // statements or transactions run again after a deadlock
}

// loopRetries bounds how often a claim or a write-back runs again after a
// deadlock or lock wait timeout; claims that scan the same ids do deadlock
// now and then on MySQL, and the database rolled the statement back.
const loopRetries = 100

func (l *claimLoop) retry(f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !dialect.IsRetryable(err) || attempt == loopRetries {
			return err
		}
		l.retries++
	}
}

type loopRow struct {
	id        int64
	key, body string
	sender    sql.NullString
	kind      string
	payload   sql.NullString
	createdAt time.Time
}

const loopColumns = `id, conversation_key, body, sender_name, kind, payload, created_at`

func (l *claimLoop) run(ctx context.Context) error {
	for {
		token := randomHex(16)
		var rows []loopRow
		if err := l.retry(func() (err error) { rows, err = l.claim(ctx, token); return err }); err != nil {
			return fmt.Errorf("%s: claim a batch: %w", l.name, err)
		}
		if len(rows) == 0 {
			if l.after == 0 {
				return nil
			}
			l.after = 0 // one more claim from the start finds any row left behind
			continue
		}
		if err := l.retry(func() (err error) { rows, err = l.writeBack(ctx, token, rows); return err }); err != nil {
			return fmt.Errorf("%s: write back a batch: %w", l.name, err)
		}
		for _, m := range rows {
			l.acked = append(l.acked, m.id)
			l.after = max(l.after, m.id)
		}
	}
}

// claim marks the oldest pending rows processing under token, autocommitted,
// and returns them: on PostgreSQL with RETURNING, on MySQL read back by
// token (the bare loop's read-back; with history it is in the write-back's
// transaction). It starts after the loop's last claim: without that bound
// (the statement as issue 15 gives it) MariaDB reads every pending row and
// sorts them for each claim, 104 rows read per relayed row and 3,147 rows/s
// on a 100,000-row backlog, a cost that grows with the backlog; with it
// the claim walks the primary key from the bound.
func (l *claimLoop) claim(ctx context.Context, token string) ([]loopRow, error) {
	if l.d == dialect.Postgres {
		rows, err := l.query(ctx, l.db, `UPDATE message_sync SET status = 'processing', claim_token = $1, claimed_by = $2
WHERE id IN (SELECT id FROM message_sync WHERE status = 'pending' AND id > $3 ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
RETURNING `+loopColumns, token, l.name, l.after, l.batch)
		// RETURNING comes in no particular order; sequences follow ids.
		slices.SortFunc(rows, func(a, b loopRow) int { return cmp.Compare(a.id, b.id) })
		return rows, err
	}
	// The primary key, pinned: with a low bound MariaDB may prefer the
	// pending range of ix_message_sync_retry and a sort of all of it.
	res, err := l.db.ExecContext(ctx, `UPDATE message_sync FORCE INDEX (PRIMARY) SET status = 'processing', claim_token = ?, claimed_by = ?
WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?`, token, l.name, l.after, l.batch)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 || l.history {
		// With history the rows are read in the write-back's transaction;
		// a placeholder says how many.
		return make([]loopRow, n), err
	}
	return l.readBack(ctx, l.db, token)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (l *claimLoop) readBack(ctx context.Context, q querier, token string) ([]loopRow, error) {
	return l.query(ctx, q, `SELECT `+loopColumns+` FROM message_sync WHERE status = 'processing' AND claim_token = ? ORDER BY id`, token)
}

func (l *claimLoop) query(ctx context.Context, q querier, query string, args ...any) ([]loopRow, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []loopRow
	for rows.Next() {
		var m loopRow
		if err := rows.Scan(&m.id, &m.key, &m.body, &m.sender, &m.kind, &m.payload, &m.createdAt); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// writeBack marks the claimed rows sent, fenced by the token; with history
// it first writes them to loop_chat_messages, in the same transaction. It
// returns the rows, read back here on MySQL with history.
func (l *claimLoop) writeBack(ctx context.Context, token string, rows []loopRow) ([]loopRow, error) {
	if !l.history {
		return rows, l.markSent(ctx, l.db, token, rows)
	}
	tx, err := l.db.BeginTx(ctx, l.d.TxOptions())
	if err != nil {
		return rows, err
	}
	defer tx.Rollback()
	if l.d == dialect.MySQL {
		got, err := l.readBack(ctx, tx, token)
		if err != nil {
			return rows, err
		}
		if len(got) != len(rows) {
			return rows, fmt.Errorf("read back %d of %d claimed rows", len(got), len(rows))
		}
		rows = got
	}
	seqs, err := l.sequences(ctx, tx, rows)
	if err != nil {
		return rows, err
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO loop_chat_messages (conversation_key, seq, sender_type, sender_name, kind, body, payload, source_table, source_id, created_at) VALUES `)
	args := make([]any, 0, 9*len(rows))
	for i, m := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, 'customer', ?, ?, ?, ?, 'message_sync', ?, ?)")
		args = append(args, m.key, seqs[i], m.sender, m.kind, m.body, m.payload, m.id, m.createdAt)
	}
	if _, err := tx.ExecContext(ctx, l.d.Rebind(q.String()), args...); err != nil {
		return rows, fmt.Errorf("insert history: %w", err)
	}
	if err := l.markSent(ctx, tx, token, rows); err != nil {
		return rows, err
	}
	return rows, tx.Commit()
}

// sequences bumps each conversation's last_seq by its rows in the batch,
// in key order so that two batches never deadlock on conversations, and
// returns each row's seq: the conversation's rows in id order end at the
// new last_seq.
func (l *claimLoop) sequences(ctx context.Context, tx *sql.Tx, rows []loopRow) ([]int64, error) {
	count := map[string]int64{}
	lastAt := map[string]time.Time{}
	for _, m := range rows {
		count[m.key]++
		if m.createdAt.After(lastAt[m.key]) {
			lastAt[m.key] = m.createdAt
		}
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	now := time.Now().UTC()
	var q strings.Builder
	q.WriteString(`INSERT INTO conversations (conversation_key, last_seq, last_message_at, created_at, updated_at) VALUES `)
	args := make([]any, 0, 5*len(keys))
	for i, k := range keys {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?)")
		args = append(args, k, count[k], lastAt[k], now, now)
	}
	q.WriteString(l.d.Upsert("conversation_key") + `last_seq = conversations.last_seq + ` + l.d.Inserted("last_seq") +
		`, last_message_at = ` + l.d.Inserted("last_message_at") + `, updated_at = ` + l.d.Inserted("updated_at"))
	last := make(map[string]int64, len(keys))
	read := func(rs *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var k string
			var n int64
			if err := rs.Scan(&k, &n); err != nil {
				return err
			}
			last[k] = n
		}
		return rs.Err()
	}
	if l.d == dialect.Postgres {
		q.WriteString(` RETURNING conversation_key, last_seq`)
		if err := read(tx.QueryContext(ctx, l.d.Rebind(q.String()), args...)); err != nil {
			return nil, fmt.Errorf("bump sequences: %w", err)
		}
	} else {
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return nil, fmt.Errorf("bump sequences: %w", err)
		}
		in := make([]any, len(keys))
		for i, k := range keys {
			in[i] = k
		}
		if err := read(tx.QueryContext(ctx, `SELECT conversation_key, last_seq FROM conversations WHERE conversation_key IN (`+
			placeholders(len(keys))+`)`, in...)); err != nil {
			return nil, fmt.Errorf("read sequences: %w", err)
		}
	}
	// A conversation's rows, in id order, end at its new last_seq.
	seqs := make([]int64, len(rows))
	for i, m := range rows {
		seqs[i] = last[m.key] - count[m.key] + 1
		count[m.key]--
	}
	return seqs, nil
}

// markSent is the fenced write-back: every row must still be ours.
func (l *claimLoop) markSent(ctx context.Context, q querier, token string, rows []loopRow) error {
	args := make([]any, 0, len(rows)+2)
	args = append(args, time.Now().UTC(), token)
	for _, m := range rows {
		args = append(args, m.id)
	}
	res, err := q.ExecContext(ctx, l.d.Rebind(`UPDATE message_sync SET status = 'sent', processed_at = ?
WHERE claim_token = ? AND status = 'processing' AND id IN (`+placeholders(len(rows))+`)`), args...)
	if err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(rows)) {
		return fmt.Errorf("mark sent: %d of %d rows still claimed (%v): %w", n, len(rows), err, ErrIncorrect)
	}
	return nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
