package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/syncd-dev/syncd/internal/dbtime"
)

// Stats is the backlog as operators see it.
type Stats struct {
	ByStatus      map[string]int64 `json:"by_status"`
	OldestPending time.Time        `json:"oldest_pending,omitempty"` // zero when nothing is pending, or its created_at is unreadable
	// OldestPendingAge is how long the oldest pending row has waited, on
	// the database's clock (which set its created_at), never below zero.
	OldestPendingAge time.Duration `json:"oldest_pending_age"`
	// Unrecognised counts rows whose status is none of Statuses (counted
	// with withSent only). The schemas refuse other values (an ENUM, a
	// CHECK), but MariaDB with an empty sql_mode stores '' for a value its
	// ENUM refuses: such a row is never relayed, and would be counted
	// nowhere.
	Unrecognised int64 `json:"unrecognised_status"`
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
	if withSent {
		if err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM message_sync WHERE status NOT IN ?`, Statuses).
			Scan(&st.Unrecognised).Error; err != nil {
			return st, fmt.Errorf("count rows of an unrecognised status: %w", err)
		}
	}
	if st.ByStatus["pending"] > 0 {
		// The age is taken on the database's clock, in the same statement:
		// the column default set created_at by that clock, and the host
		// running `syncd status` may be set differently.
		var oldest dbtime.WriterTime
		var now dbTime
		err := s.sqlDB.QueryRowContext(ctx, `SELECT created_at, `+s.d.UTCNow()+` FROM message_sync
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

// ClaimsInFlight lists the claims not yet written back, oldest first, for
// `syncd status`.
func (s *Store) ClaimsInFlight(ctx context.Context) ([]ClaimInFlight, error) {
	rows, err := s.sqlDB.QueryContext(ctx, s.d.Rebind(`SELECT claim_token, claimed_by, bucket_lo, bucket_hi, lease_until, created_at
FROM message_sync_claims ORDER BY created_at LIMIT ?`), maxClaimsListed)
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

// CountOrphans counts processing rows that no claim in flight covers, for
// `syncd status`: they wait for the poller's sweep (or requeue --orphaned).
// It reads the whole 'processing' range, so only an operator's command
// calls it.
func (s *Store) CountOrphans(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM message_sync WHERE ` + orphaned).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("count orphaned processing rows: %w", err)
	}
	return n, nil
}

// RequeueFilter narrows `syncd requeue`; zero fields match everything.
type RequeueFilter struct {
	IDs             []int64
	ConversationKey string
	ErrorContains   string
	Since           time.Time // created_at >= Since
	// Orphaned also takes processing rows that no claim in flight covers
	// (set by hand, or by an older syncd), which nobody would write back.
	Orphaned bool
	// Force also takes rows that failed as invalid. As they are, they fail
	// again: only a changed row or a raised limit helps.
	Force bool
}

// RequeueResult is what Requeue did.
type RequeueResult struct {
	Failed   int64 // failed rows put back to pending
	Orphaned int64 // orphaned processing rows put back to pending (Orphaned)
	// OrphanedSent counts orphaned processing rows that chat history holds
	// already (sent rows set back by hand): back to sent, not relayed twice.
	OrphanedSent int64
	// Invalid counts the rows that failed as invalid and were left alone
	// (no Force); InvalidSample shows a few of them.
	Invalid       int64
	InvalidSample []Skipped
	// Skipped says, for each id of IDs that was not requeued, why.
	Skipped []Skipped
}

// Skipped is a row Requeue left alone, and why.
type Skipped struct {
	ID     int64
	Reason string
}

// invalidRow starts the last_error of a row the bridge refused as invalid
// (bridge.Convert), which no retry can relay.
const invalidRow = "invalid row:"

// Requeue puts failed rows back to pending with a fresh attempt count,
// except those that failed as invalid unless f.Force, and with f.Orphaned
// orphaned processing rows too. Each UPDATE re-checks the row's state, so
// a row the relay holds is never taken.
func (s *Store) Requeue(ctx context.Context, f RequeueFilter) (RequeueResult, error) {
	var r RequeueResult
	match, args := s.requeueMatch(f)
	invalid := "last_error LIKE '" + invalidRow + "%'"
	if len(f.IDs) > 0 {
		skipped, err := s.explainRequeue(ctx, f, invalid)
		if err != nil {
			return r, err
		}
		r.Skipped = skipped
	}
	if !f.Force {
		var sample []struct {
			ID        int64
			LastError string
		}
		if err := s.db.WithContext(ctx).Raw(`SELECT id, last_error FROM message_sync WHERE status = 'failed' AND `+invalid+match+
			` ORDER BY id LIMIT 3`, args...).Scan(&sample).Error; err != nil {
			return r, fmt.Errorf("find rows that failed as invalid: %w", err)
		}
		for _, x := range sample {
			r.InvalidSample = append(r.InvalidSample, Skipped{ID: x.ID, Reason: x.LastError})
		}
		if len(sample) > 0 {
			if err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM message_sync WHERE status = 'failed' AND `+invalid+match, args...).
				Scan(&r.Invalid).Error; err != nil {
				return r, fmt.Errorf("count rows that failed as invalid: %w", err)
			}
		}
	}
	failed := "status = 'failed'"
	if !f.Force {
		failed += " AND (last_error IS NULL OR NOT " + invalid + ")"
	}
	const reset = `UPDATE message_sync SET status = 'pending', attempts = 0, next_attempt_at = NULL,
 claim_token = NULL, lease_until = NULL, processed_at = NULL`
	res := s.db.WithContext(ctx).Exec(reset+` WHERE `+failed+match, args...)
	if res.Error != nil {
		return r, fmt.Errorf("requeue failed rows: %w", res.Error)
	}
	r.Failed = res.RowsAffected
	if f.Orphaned {
		var err error
		r.Orphaned, r.OrphanedSent, err = s.resolveOrphans(ctx, match, args, true,
			"requeued by syncd requeue --orphaned: it was processing with no claim in flight", time.Now())
		if err != nil {
			return r, fmt.Errorf("requeue: %w", err)
		}
	}
	return r, nil
}

// requeueMatch is the filter's conditions (" AND …") and their arguments,
// the status aside.
func (s *Store) requeueMatch(f RequeueFilter) (string, []any) {
	var where []string
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
		where = append(where, errorContains)
		args = append(args, "%"+escapeLike(f.ErrorContains)+"%")
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, s.d.Time(f.Since))
	}
	if len(where) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(where, " AND "), args
}

// errorContains matches last_error against an escaped LIKE pattern. The
// escape character is named: SQLite has none by default, and MySQL's
// default (backslash) is gone under NO_BACKSLASH_ESCAPES.
const errorContains = "last_error LIKE ? ESCAPE '!'"

// explainRequeue says why each of f.IDs that Requeue will not take is left
// alone, judged by the same conditions as Requeue's UPDATEs.
func (s *Store) explainRequeue(ctx context.Context, f RequeueFilter, invalid string) ([]Skipped, error) {
	cols := []string{"id", "status", "COALESCE(last_error, '')", "COALESCE(claimed_by, '')",
		"CASE WHEN " + orphaned + " THEN 1 ELSE 0 END", "CASE WHEN " + invalid + " THEN 1 ELSE 0 END"}
	var args []any
	var filters []string
	if f.ConversationKey != "" {
		cols = append(cols, "CASE WHEN conversation_key = ? THEN 1 ELSE 0 END")
		args = append(args, f.ConversationKey)
		filters = append(filters, "--conversation")
	}
	if f.ErrorContains != "" {
		cols = append(cols, "CASE WHEN "+errorContains+" THEN 1 ELSE 0 END")
		args = append(args, "%"+escapeLike(f.ErrorContains)+"%")
		filters = append(filters, "--error-contains")
	}
	if !f.Since.IsZero() {
		cols = append(cols, "CASE WHEN created_at >= ? THEN 1 ELSE 0 END")
		args = append(args, s.d.Time(f.Since))
		filters = append(filters, "--since")
	}
	rows, err := s.db.WithContext(ctx).Raw(`SELECT `+strings.Join(cols, ", ")+` FROM message_sync WHERE id IN ?`,
		append(args, f.IDs)...).Rows()
	if err != nil {
		return nil, fmt.Errorf("read rows to requeue: %w", err)
	}
	defer rows.Close()
	found := map[int64]string{} // id → why not, "" when it will be requeued
	for rows.Next() {
		var id int64
		var status, lastErr, claimedBy string
		var orphan, bad int
		matches := make([]int, len(filters))
		dest := []any{&id, &status, &lastErr, &claimedBy, &orphan, &bad}
		for i := range matches {
			dest = append(dest, &matches[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read rows to requeue: %w", err)
		}
		found[id] = requeueVerdict(f, status, lastErr, claimedBy, orphan == 1, bad == 1, filters, matches)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rows to requeue: %w", err)
	}
	var skipped []Skipped
	for _, id := range f.IDs {
		why, ok := found[id]
		if !ok {
			why = "no such row"
		}
		if why != "" {
			skipped = append(skipped, Skipped{ID: id, Reason: why})
		}
	}
	return skipped, nil
}

// requeueVerdict is why a row is not requeued, "" when it is.
func requeueVerdict(f RequeueFilter, status, lastErr, claimedBy string, orphan, invalid bool, filters []string, matches []int) string {
	for i, m := range matches {
		if m == 0 {
			return "does not match " + filters[i]
		}
	}
	switch {
	case status == "pending":
		return "pending already: it is relayed when due"
	case status == "sent":
		return "sent already: only failed rows are requeued"
	case status == "processing" && orphan && !f.Orphaned:
		return "processing with no claim in flight (set by hand, or by an older syncd): pass --orphaned to requeue it" +
			" (syncd run also returns it within poller.lease)"
	case status == "processing" && !orphan:
		return "processing under a claim in flight by " + claimedBy +
			": it is written back, or taken back when its holder is gone"
	case status == "failed" && invalid && !f.Force:
		return "failed as invalid and would fail again (" + lastErr + "): fix the row or the limit, then pass --force"
	}
	return ""
}

// escapeLike escapes s for a LIKE pattern with ESCAPE '!'.
func escapeLike(s string) string {
	return strings.NewReplacer(`!`, `!!`, `%`, `!%`, `_`, `!_`).Replace(s)
}

// NewRow is what a legacy application inserts.
type NewRow struct {
	ConversationKey string
	Body            string
	SenderName      string
	Kind            string // "" for the column default, message
	Payload         string // "" for NULL
	SourceRef       string // "" for NULL: the writer's reference (0013_source_ref)
}

// Insert adds a row exactly as a legacy application would: only the
// contract's columns, every syncd column left to its default.
func (s *Store) Insert(ctx context.Context, r NewRow) (int64, error) {
	q, args := insertRow(r)
	return s.insert(ctx, q, args)
}

// insertRow is the INSERT of r with only the columns it sets.
func insertRow(r NewRow) (string, []any) {
	cols := []string{"conversation_key", "body"}
	args := []any{r.ConversationKey, r.Body}
	for _, c := range []struct{ col, v string }{
		{"sender_name", r.SenderName}, {"kind", r.Kind}, {"payload", r.Payload}, {"source_ref", r.SourceRef},
	} {
		if c.v != "" {
			cols, args = append(cols, c.col), append(args, c.v)
		}
	}
	return `INSERT INTO message_sync (` + strings.Join(cols, ", ") + `) VALUES (` +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + `)`, args
}

// insert runs an INSERT into message_sync and returns the new row's id.
func (s *Store) insert(ctx context.Context, q string, args []any) (int64, error) {
	if s.d.Returning() { // no LastInsertId: the id comes back as a row
		var id int64
		if err := s.sqlDB.QueryRowContext(ctx, s.d.Rebind(q+` RETURNING id`), args...).Scan(&id); err != nil {
			return 0, fmt.Errorf("insert into message_sync: %w", err)
		}
		return id, nil
	}
	res, err := s.sqlDB.ExecContext(ctx, q, args...)
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
	err := s.sqlDB.QueryRowContext(ctx, s.d.Rebind(`SELECT status, attempts, last_error FROM message_sync WHERE id = ?`), id).
		Scan(&st.Status, &st.Attempts, &lastErr)
	if err != nil {
		return st, fmt.Errorf("read status of row %d: %w", id, err)
	}
	st.LastError = lastErr.String
	return st, nil
}

// FailedReason is one last_error of failed rows and how many rows have it.
type FailedReason struct {
	Reason string
	Rows   int64
	// Invalid: the rows failed as invalid, and Requeue leaves them alone
	// unless forced.
	Invalid bool
}

// FailedReasons groups failed rows by last_error, most rows first, at most
// limit reasons, for the console's ops page. It reads the 'failed' range
// of the status index only.
func (s *Store) FailedReasons(ctx context.Context, limit int) ([]FailedReason, error) {
	var got []struct {
		Reason string
		N      int64
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(last_error, '') AS reason, COUNT(*) AS n FROM message_sync
WHERE status = 'failed' GROUP BY last_error ORDER BY n DESC, reason LIMIT ?`, limit).Scan(&got).Error; err != nil {
		return nil, fmt.Errorf("group failed rows by reason: %w", err)
	}
	out := make([]FailedReason, 0, len(got))
	for _, g := range got {
		out = append(out, FailedReason{Reason: g.Reason, Rows: g.N, Invalid: strings.HasPrefix(g.Reason, invalidRow)})
	}
	return out, nil
}
