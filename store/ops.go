package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/syncd-dev/syncd/internal/dbtime"
	schema "github.com/syncd-dev/syncd/sql"
)

// Stats is the backlog as operators see it.
type Stats struct {
	ByStatus      map[string]int64 `json:"by_status"`
	OldestPending time.Time        `json:"oldest_pending,omitempty"` // zero when nothing is pending, or its created_at is unreadable
	// OldestPendingAge is how long the oldest pending row has waited, on
	// the database's clock (which set its created_at), never below zero.
	OldestPendingAge time.Duration `json:"oldest_pending_age"`
}

// ClaimInFlight is a claimed batch whose rows are not all written back: a
// batch being relayed, or one whose holder died and that the shard's next
// holder (or its lease) will take back.
type ClaimInFlight struct {
	Token      string    `json:"token"`
	ClaimedBy  string    `json:"claimed_by"`
	BucketLo   int       `json:"bucket_lo"`
	BucketHi   int       `json:"bucket_hi"` // exclusive
	LeaseUntil time.Time `json:"lease_until"`
	CreatedAt  time.Time `json:"created_at"`
}

// maxClaimsListed bounds ClaimsInFlight; live claims are at most
// instances × workers, so more means claims are being abandoned.
const maxClaimsListed = 100

// Statuses lists message_sync.status values in lifecycle order.
var Statuses = []string{"pending", "processing", "sent", "failed"}

// Stats counts rows by status. Counting 'sent' walks the whole history, so
// callers that run often (metrics) pass withSent=false.
func (s *Store) Stats(ctx context.Context, withSent bool) (Stats, error) {
	st := Stats{ByStatus: map[string]int64{}}
	want := []string{"pending", "processing", "failed"}
	if withSent {
		want = Statuses
	}
	for _, status := range want {
		st.ByStatus[status] = 0
	}
	type countRow struct {
		Status string
		N      int64
	}
	var counts []countRow
	if err := s.db.WithContext(ctx).Raw(`SELECT status, COUNT(*) AS n FROM message_sync WHERE status IN ? GROUP BY status`, want).
		Scan(&counts).Error; err != nil {
		return st, fmt.Errorf("count rows by status: %w", err)
	}
	for _, c := range counts {
		st.ByStatus[c.Status] = c.N
	}
	if st.ByStatus["pending"] > 0 {
		// The age is taken on the database's clock, in the same statement:
		// the column default set created_at by that clock, and the host
		// running `syncd status` may be set differently.
		var oldest dbtime.WriterTime
		var now dbTime
		err := s.sqlDB.QueryRowContext(ctx, `SELECT created_at, `+s.utcNow()+` FROM message_sync
WHERE id = (SELECT MIN(id) FROM message_sync WHERE status = 'pending')`).Scan(&oldest, &now)
		if err != nil && err != sql.ErrNoRows {
			return st, fmt.Errorf("find oldest pending row: %w", err)
		}
		st.OldestPending = oldest.Time
		if oldest.Valid {
			st.OldestPendingAge = max(0, now.Sub(oldest.Time))
		}
	}
	return st, nil
}

// utcNow is the database's current UTC time, with microseconds on MySQL.
func (s *Store) utcNow() string {
	if s.dialect == schema.SQLite {
		return `strftime('%Y-%m-%d %H:%M:%f', 'now')`
	}
	return `UTC_TIMESTAMP(6)`
}

// ClaimsInFlight lists the claims not yet written back, oldest first, for
// `syncd status`.
func (s *Store) ClaimsInFlight(ctx context.Context) ([]ClaimInFlight, error) {
	rows, err := s.sqlDB.QueryContext(ctx, `SELECT claim_token, claimed_by, bucket_lo, bucket_hi, lease_until, created_at
FROM message_sync_claims ORDER BY created_at LIMIT ?`, maxClaimsListed)
	if err != nil {
		return nil, fmt.Errorf("list claims in flight: %w", err)
	}
	defer rows.Close()
	claims := []ClaimInFlight{}
	for rows.Next() {
		var c ClaimInFlight
		var lease, created dbTime
		if err := rows.Scan(&c.Token, &c.ClaimedBy, &c.BucketLo, &c.BucketHi, &lease, &created); err != nil {
			return nil, fmt.Errorf("list claims in flight: %w", err)
		}
		c.LeaseUntil, c.CreatedAt = lease.Time, created.Time
		claims = append(claims, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list claims in flight: %w", err)
	}
	return claims, nil
}

// RequeueFilter narrows `syncd requeue`; zero fields match everything.
type RequeueFilter struct {
	IDs             []int64
	ConversationKey string
	ErrorContains   string
	Since           time.Time // created_at >= Since
}

// Requeue puts failed rows back to pending with a fresh attempt count.
func (s *Store) Requeue(ctx context.Context, f RequeueFilter) (int64, error) {
	where := []string{"status = 'failed'"}
	var args []any
	if len(f.IDs) > 0 {
		where = append(where, "id IN ?")
		args = append(args, f.IDs)
	}
	if f.ConversationKey != "" {
		where = append(where, "conversation_key = ?")
		args = append(args, f.ConversationKey)
	}
	if f.ErrorContains != "" {
		where = append(where, "last_error LIKE ?")
		args = append(args, "%"+escapeLike(f.ErrorContains)+"%")
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, s.ts(f.Since))
	}
	res := s.db.WithContext(ctx).Exec(`UPDATE message_sync SET status = 'pending', attempts = 0, next_attempt_at = NULL,
 claim_token = NULL, lease_until = NULL, processed_at = NULL WHERE `+strings.Join(where, " AND "), args...)
	if res.Error != nil {
		return 0, fmt.Errorf("requeue failed rows: %w", res.Error)
	}
	return res.RowsAffected, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// NewRow is what a legacy application inserts.
type NewRow struct {
	ConversationKey string
	Body            string
	SenderName      string
	Kind            string // "" for the column default, message
	Payload         string // "" for NULL
}

// Insert adds a row exactly as a legacy application would: only the
// contract's columns, every syncd column left to its default.
func (s *Store) Insert(ctx context.Context, r NewRow) (int64, error) {
	cols := []string{"conversation_key", "body"}
	args := []any{r.ConversationKey, r.Body}
	if r.SenderName != "" {
		cols, args = append(cols, "sender_name"), append(args, r.SenderName)
	}
	if r.Kind != "" {
		cols, args = append(cols, "kind"), append(args, r.Kind)
	}
	if r.Payload != "" {
		cols, args = append(cols, "payload"), append(args, r.Payload)
	}
	res, err := s.sqlDB.ExecContext(ctx, `INSERT INTO message_sync (`+strings.Join(cols, ", ")+`) VALUES (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("insert into message_sync: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("insert into message_sync: %w", err)
	}
	return id, nil
}

// RowStatus is one message_sync row's state, for `syncd inject --wait`.
type RowStatus struct {
	Status    string
	Attempts  int
	LastError string
}

// Status reads one row's status.
func (s *Store) Status(ctx context.Context, id int64) (RowStatus, error) {
	var st RowStatus
	var lastErr sql.NullString
	err := s.sqlDB.QueryRowContext(ctx, `SELECT status, attempts, last_error FROM message_sync WHERE id = ?`, id).
		Scan(&st.Status, &st.Attempts, &lastErr)
	if err != nil {
		return st, fmt.Errorf("read status of row %d: %w", id, err)
	}
	st.LastError = lastErr.String
	return st, nil
}
