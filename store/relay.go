package store

// The relay's statements. The contract they keep:
//   - work is found by status, never by an id or time offset, so a row whose
//     transaction commits late is still found;
//   - a claim picks the oldest due rows of a shard with a non-locking read,
//     marks them 'processing' with a fresh token and a lease in one UPDATE
//     that re-checks status='pending', then reads them back by token
//     (portable to MySQL 5.7, MySQL 8, MariaDB, PostgreSQL and SQLite: no
//     SKIP LOCKED, which MySQL 5.7 and SQLite lack and the UPDATE's re-check
//     makes unnecessary);
//   - every write-back matches the token and status='processing'; if fewer
//     rows match than expected the claim was lost and the transaction rolls
//     back, so a stale claimer can neither overwrite a status nor add history;
//   - history, conversation sequence numbers and the status write-back
//     commit in one transaction.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chat/history"
	"github.com/syncd-dev/syncd/internal/dialect"
	"github.com/syncd-dev/syncd/store/batch"
)

// ErrClaimLost means a fenced write-back matched fewer rows than it should:
// another instance took the rows back. Nothing was written.
var ErrClaimLost = errors.New("claim lost: rows were taken back by another instance")

// Buckets is the number of values of message_sync.shard_bucket.
const Buckets = 1024

// The batch types, declared in store/batch so that packages that only
// handle batches link no database code.
type (
	Row     = batch.Row
	Outcome = batch.Outcome
	Relayed = batch.Relayed
	Failed  = batch.Failed
	Retry   = batch.Retry
)

// Widths of the short columns in characters, as on MySQL.
const (
	MaxKeyChars    = batch.MaxKeyChars
	MaxSenderChars = batch.MaxSenderChars
	MaxKindChars   = batch.MaxKindChars
)

// Shard is one of Count partitions of the conversations, by bucket range.
type Shard struct{ Index, Count int }

func (s Shard) bounds() (lo, hi int) {
	per := Buckets / s.Count
	return s.Index * per, (s.Index + 1) * per
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// RowLimits bound what a claim reads of each row, so that a batch's memory
// is bounded by the limits and not by what a legacy application wrote.
// Zero means the default, 64 KiB each (relay.max_body_bytes and
// relay.max_payload_bytes).
type RowLimits struct {
	MaxBodyBytes    int
	MaxPayloadBytes int
}

func (l RowLimits) withDefaults() RowLimits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 64 << 10
	}
	if l.MaxPayloadBytes <= 0 {
		l.MaxPayloadBytes = 64 << 10
	}
	return l
}

// SetRowLimits sets what claims read of each row; call it before the first
// claim.
func (s *Store) SetRowLimits(l RowLimits) { s.limits = l.withDefaults() }

// claimedCols reads a claimed row within the limits (see Row). Sizes are
// checked in SQL, so an oversized value never crosses the wire, and values
// are read whole or not at all: SQLite's string functions stop at a NUL
// byte, so cutting a value there could turn "k\x00" into "k".
func (s *Store) claimedCols() string {
	l := s.limits.withDefaults()
	// A character is at most 4 bytes: more bytes than that is too long.
	short := func(col string, chars int) (read, over string) {
		n := s.d.ByteLength(col)
		return fmt.Sprintf("CASE WHEN %s <= %d THEN %s END", n, 4*chars, col), fmt.Sprintf("%s > %d", n, 4*chars)
	}
	key, keyOver := short("conversation_key", MaxKeyChars)
	sender, senderOver := short("sender_name", MaxSenderChars)
	kind, kindOver := short("kind", MaxKindChars)
	body, payload := s.d.ByteLength("body"), s.d.ByteLength("payload")
	return fmt.Sprintf(`id, %s, CASE WHEN %s THEN 'conversation_key' WHEN %s THEN 'sender_name' WHEN %s THEN 'kind' ELSE '' END,
  CASE WHEN conversation_key = RTRIM(conversation_key) THEN 1 ELSE 0 END,
  CASE WHEN %s <= %d THEN body END, %s, %s, %s,
  CASE WHEN %s <= %d THEN payload END, COALESCE(%s, 0),
  CASE WHEN last_error LIKE '%s%%' OR last_error = '%s' THEN 1 ELSE 0 END,
  attempts, created_at`, key, keyOver, senderOver, kindOver,
		body, l.MaxBodyBytes, body, sender, kind, payload, l.MaxPayloadBytes, payload, AbandonedReason, OrphanReason)
}

func scanClaimed(rows *sql.Rows) (Row, error) {
	var r Row
	var key, body, sender, kind, payload sql.NullString
	var keyEqTrimmed bool
	var created writerTime // a bad created_at must not stop the claim
	if err := rows.Scan(&r.ID, &key, &r.TooLong, &keyEqTrimmed, &body, &r.BodyBytes, &sender, &kind,
		&payload, &r.PayloadBytes, &r.Suspect, &r.Attempts, &created); err != nil {
		return r, err
	}
	r.ConversationKey, r.Body, r.SenderName, r.Kind = key.String, body.String, sender.String, kind.String
	if payload.Valid {
		p := payload.String
		r.Payload = &p
	}
	r.TrailingSpaceIgnored = keyEqTrimmed && strings.HasSuffix(r.ConversationKey, " ")
	r.CreatedAt = created.Time
	return r, nil
}

// Claim is a batch of rows held under one token.
type Claim struct {
	Token   string
	Claimer string
	Shard   Shard
	Rows    []Row

	resolved map[int64]bool // rows written back so far
}

// Unresolved returns the rows of the claim not written back yet, in order.
func (c *Claim) Unresolved() []Row {
	var out []Row
	for _, r := range c.Rows {
		if !c.resolved[r.ID] {
			out = append(out, r)
		}
	}
	return out
}

// Claim marks up to limit due rows of the shard as processing and returns
// them in id order. Rows of a conversation whose earlier row waits for a
// retry are left alone, so nothing overtakes it.
func (s *Store) Claim(ctx context.Context, shard Shard, claimer string, limit int, lease time.Duration) (*Claim, error) {
	now := time.Now()
	blocked, err := s.waitingConversations(ctx, shard, now)
	if err != nil {
		return nil, err
	}
	ids, err := s.dueIDs(ctx, shard, blocked, now, limit)
	if err != nil {
		return nil, fmt.Errorf("find due rows of shard %s: %w", shard, err)
	}
	c := &Claim{Claimer: claimer, Shard: shard}
	if len(ids) == 0 {
		return c, nil
	}
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	c.Token = token
	// The claim and its entry in message_sync_claims commit together, so a
	// claim whose holder dies is always found by TakeBack.
	lo, hi := shard.bounds()
	leaseUntil := s.d.Time(now.Add(lease))
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO message_sync_claims (claim_token, claimed_by, bucket_lo, bucket_hi, lease_until)
VALUES (?, ?, ?, ?, ?)`, token, claimer, lo, hi, leaseUntil).Error; err != nil {
			return fmt.Errorf("record claim of shard %s: %w", shard, err)
		}
		// status = 'pending' again: a row another claimer took meanwhile is skipped.
		res := tx.Exec(`UPDATE message_sync SET status = 'processing', claim_token = ?, claimed_by = ?, lease_until = ?
WHERE status = 'pending' AND id IN ?`, token, claimer, leaseUntil, ids)
		if res.Error != nil {
			return fmt.Errorf("claim rows of shard %s: %w", shard, res.Error)
		}
		if res.RowsAffected == 0 {
			return errNothingClaimed
		}
		// Read back inside the transaction: if this fails, the claim rolls
		// back instead of leaving rows claimed that nobody will relay.
		rows, err := tx.Raw(`SELECT `+s.claimedCols()+`
FROM message_sync WHERE claim_token = ? AND status = 'processing' AND id IN ? ORDER BY id`, token, ids).Rows()
		if err != nil {
			return fmt.Errorf("read claimed rows: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanClaimed(rows)
			if err != nil {
				return fmt.Errorf("read claimed rows: %w", err)
			}
			c.Rows = append(c.Rows, r)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read claimed rows: %w", err)
		}
		return nil
	}, s.d.TxOptions())
	if errors.Is(err, errNothingClaimed) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// errNothingClaimed rolls back a claim whose rows were all taken by
// another claimer between the pick and the UPDATE.
var errNothingClaimed = errors.New("nothing claimed")

// waitingConversations lists the conversations of the shard that must
// wait: one of their rows waits for a retry, or is held by a claim in
// flight that may yet be taken back (its holder died or lost its lock).
// Either row must go first. Claims in flight are found through
// message_sync_claims, not through the processing rows themselves (see
// sql/mysql/0004_claims.sql); their rows are read only when there is one,
// which is rare: this shard's own claims are committed by now.
func (s *Store) waitingConversations(ctx context.Context, shard Shard, now time.Time) ([]string, error) {
	lo, hi := shard.bounds()
	var keys []string
	err := s.db.WithContext(ctx).Raw(s.boundedRead(`SELECT conversation_key FROM message_sync `+s.d.ForceIndex("ix_message_sync_retry")+`
WHERE status = 'pending' AND next_attempt_at > ? AND shard_bucket >= ? AND shard_bucket < ?
UNION
SELECT m.conversation_key FROM message_sync_claims c
JOIN message_sync m `+s.d.ForceIndex("ix_message_sync_claim")+`
  ON m.status = 'processing' AND m.shard_bucket >= ? AND m.shard_bucket < ? AND m.claim_token = c.claim_token
WHERE c.bucket_lo < ? AND c.bucket_hi > ?`),
		s.d.Time(now), lo, hi, lo, hi, hi, lo).Scan(&keys).Error
	if err != nil {
		return nil, fmt.Errorf("find conversations that must wait: %w", err)
	}
	return keys, nil
}

// dueIDs picks up to limit due rows of the shard with a plain (non-locking)
// read; the claim then takes them by primary key. A claim UPDATE that
// scanned the status index itself would wait on a legacy writer's
// uncommitted insert (InnoDB locks the index entry, and semi-consistent
// reads only cover the clustered index), so one long legacy transaction
// could stall its whole shard.
//
// Rows come oldest first (by id) across the shard, within a window of
// ids: every due row of the shard up to a bound, none below it left out
// (there is no lower bound), so a row that committed late is found by the
// next claim. The bound is the highest id the shard's last claim took plus
// a span of about two claims' worth of the shard's rows: the server reads
// one index range per bucket of the shard (status, shard_bucket, id) up to
// the bound and sorts what it found, a bounded amount whatever the
// backlog ("id + 0" keeps PostgreSQL from walking the primary key from the
// table's first row instead). A claim that finds fewer rows than it wants
// asks for the shard's next pending row beyond the window (one index dive
// per bucket) and, if there is one, looks again from there, wider.
//
// Id order keeps the claims of every shard on the same recent part of
// the table, which stays in the buffer pool; claiming bucket by bucket
// read rows scattered over the whole table, and a backlog larger than the
// buffer pool made every claim read from disk.
func (s *Store) dueIDs(ctx context.Context, shard Shard, blocked []string, now time.Time, limit int) ([]int64, error) {
	lo, hi := shard.bounds()
	var from int64
	if v, ok := s.cursors.Load(shard); ok {
		from = v.(int64)
	}
	// The shard's buckets as literals: one index range each.
	var in strings.Builder
	for b := lo; b < hi; b++ {
		if b > lo {
			in.WriteByte(',')
		}
		in.WriteString(strconv.Itoa(b))
	}
	where := `status = 'pending' AND shard_bucket IN (` + in.String() + `) AND id <= ?
AND (next_attempt_at IS NULL OR next_attempt_at <= ?)`
	var extra []any
	if len(blocked) > 0 {
		where += ` AND conversation_key NOT IN ?`
		extra = append(extra, blocked)
	}
	pick := func(bound int64) ([]int64, error) {
		var ids []int64
		args := append([]any{bound, s.d.Time(now)}, extra...)
		err := s.db.WithContext(ctx).Raw(s.boundedRead(`SELECT id FROM message_sync `+s.d.ForceIndex("ix_message_sync_claim")+
			` WHERE `+where+` ORDER BY id + 0 LIMIT ?`), append(args, limit)...).Scan(&ids).Error
		return ids, err
	}
	// next is the shard's lowest pending id above bound: the first entry
	// of each bucket's range, so it costs a dive per bucket, not a scan.
	next := func(bound int64) (sql.NullInt64, error) {
		var n sql.NullInt64
		// The bounds as literals: a placeholder would be text to PostgreSQL.
		err := s.db.WithContext(ctx).Raw(s.boundedRead(fmt.Sprintf(`WITH RECURSIVE b(n) AS (SELECT %d UNION ALL SELECT n + 1 FROM b WHERE n + 1 < %d)
SELECT MIN((SELECT m.id FROM message_sync m %s
  WHERE m.status = 'pending' AND m.shard_bucket = b.n AND m.id > ? ORDER BY m.id LIMIT 1)) FROM b`,
			lo, hi, s.d.ForceIndex("ix_message_sync_claim"))), bound).Row().Scan(&n)
		return n, err
	}
	span := int64(2 * limit * shard.Count)
	window := func(start int64) int64 { return start + min(span, math.MaxInt64-start) }
	bound := window(from)
	ids, err := pick(bound)
	// Each look starts at the next pending row and is four times wider,
	// for a shard whose rows are sparse among the others'; three at most.
	for tries := 0; err == nil && len(ids) < limit && tries < 3; tries++ {
		var n sql.NullInt64
		if n, err = next(bound); err != nil || !n.Valid {
			break
		}
		span = min(span, math.MaxInt64/4) * 4
		bound = window(n.Int64)
		ids, err = pick(bound)
	}
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		s.cursors.Store(shard, ids[len(ids)-1])
	}
	return ids, nil
}

// DueShards returns those of the given shards that may have work: a
// pending row that is due, or a claim in flight (which may be abandoned).
// One statement answers for many shards with an index dive each, so that a
// poller ticking often does not take the lock of, and run its claim
// queries on, every shard that is empty.
//
// It asks first whether any shard has work, in one short statement (the
// first entry of the claim index, and the claims table): an idle database,
// probed every poller.fast_interval while agents watch, then costs one
// index dive per probe instead of two per shard.
func (s *Store) DueShards(ctx context.Context, shards []Shard) ([]Shard, error) {
	now := s.d.Time(time.Now())
	if len(shards) > 1 {
		var some bool
		err := s.db.WithContext(ctx).Raw(s.boundedRead(`SELECT (EXISTS (SELECT 1 FROM message_sync `+s.d.ForceIndex("ix_message_sync_claim")+
			` WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?))
OR EXISTS (SELECT 1 FROM message_sync_claims))`), now).Row().Scan(&some)
		if err != nil {
			return nil, fmt.Errorf("find shards with work: %w", err)
		}
		if !some {
			return nil, nil
		}
	}
	var due []Shard
	// SQLite allows 2,000 result columns; 128 keeps statements short too.
	for part := range slices.Chunk(shards, 128) {
		var q strings.Builder
		q.WriteString("SELECT ")
		args := make([]any, 0, 5*len(part))
		for i, sh := range part {
			lo, hi := sh.bounds()
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, `(EXISTS (SELECT 1 FROM message_sync %[1]s WHERE status = 'pending'
AND shard_bucket >= ? AND shard_bucket < ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?))
OR EXISTS (SELECT 1 FROM message_sync_claims WHERE bucket_lo < ? AND bucket_hi > ?))`, s.d.ForceIndex("ix_message_sync_claim"))
			args = append(args, lo, hi, now, hi, lo)
		}
		flags := make([]bool, len(part))
		dest := make([]any, len(part))
		for i := range flags {
			dest[i] = &flags[i]
		}
		if err := s.db.WithContext(ctx).Raw(s.boundedRead(q.String()), args...).Row().Scan(dest...); err != nil {
			return nil, fmt.Errorf("find shards with work: %w", err)
		}
		for i, f := range flags {
			if f {
				due = append(due, part[i])
			}
		}
	}
	return due, nil
}

// Abandoned says which processing rows of a shard TakeBack returns.
type Abandoned int

const (
	// LeaseExpired: rows whose lease ran out (any locker).
	LeaseExpired Abandoned = iota
	// AllProcessing: every processing row, for a new holder of a
	// distributed shard lock, which knows the previous holder is gone.
	AllProcessing
)

// AbandonedReason starts the last_error TakeBack writes; the claimer's
// name follows.
const AbandonedReason = "claim abandoned by "

// TakeBack returns abandoned processing rows of the shard to pending, one
// claim token at a time (compare-and-set on the old token), so they are
// relayed again at once and their old claimer's write-back fails.
//
// An attempt is counted only when the claim held one row. A claim dies
// with its holder (a crash, a kill, a lost lock) whichever of its rows
// caused it, if any: counting an attempt against every row of it let a
// few crashes fail innocent rows that were never relayed ("gave up after
// 8 attempts"). The rows go back marked as suspects (Row.Suspect), and the
// poller relays each suspect on a claim of its own, so a row that keeps
// killing its relayer is counted, alone, up to poller.max_attempts.
func (s *Store) TakeBack(ctx context.Context, shard Shard, which Abandoned) (int64, error) {
	now := time.Now()
	lo, hi := shard.bounds()
	q := `SELECT claim_token, claimed_by, bucket_lo, bucket_hi FROM message_sync_claims WHERE bucket_lo < ? AND bucket_hi > ?`
	args := []any{hi, lo}
	if which == LeaseExpired {
		q += ` AND lease_until < ?`
		args = append(args, s.d.Time(now))
	}
	type claimRow struct {
		ClaimToken         string
		ClaimedBy          string
		BucketLo, BucketHi int
	}
	var claims []claimRow
	if err := s.db.WithContext(ctx).Raw(q, args...).Scan(&claims).Error; err != nil {
		return 0, fmt.Errorf("find abandoned claims of shard %s: %w", shard, err)
	}
	var total int64
	for _, c := range claims {
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var held int64
			if err := tx.Raw(`SELECT COUNT(*) FROM message_sync
WHERE status = 'processing' AND shard_bucket >= ? AND shard_bucket < ? AND claim_token = ?`,
				c.BucketLo, c.BucketHi, c.ClaimToken).Scan(&held).Error; err != nil {
				return err
			}
			attempt, reason := 0, AbandonedReason+c.ClaimedBy
			if held == 1 {
				attempt, reason = 1, reason+" while it held this row alone (counted as an attempt)"
			}
			res := tx.Exec(`UPDATE message_sync
SET status = 'pending', attempts = attempts + ?, claim_token = NULL, lease_until = NULL, last_error = ?
WHERE status = 'processing' AND shard_bucket >= ? AND shard_bucket < ? AND claim_token = ?`,
				attempt, reason, c.BucketLo, c.BucketHi, c.ClaimToken)
			if res.Error != nil {
				return res.Error
			}
			if err := closeClaim(tx, c.ClaimToken); err != nil {
				return err
			}
			total += res.RowsAffected
			return nil
		}, s.d.TxOptions())
		if err != nil {
			return total, fmt.Errorf("take back abandoned claim of shard %s: %w", shard, err)
		}
	}
	return total, nil
}

// orphaned matches processing rows that no claim in flight covers: set to
// processing by hand, or claimed by a syncd older than 0004_claims, which
// recorded no claim. Nobody writes them back, and TakeBack, which starts
// from message_sync_claims, never sees them. A claim of this syncd cannot
// match: its entry commits with its rows and goes with their write-back.
const orphaned = `status = 'processing' AND (claim_token IS NULL OR NOT EXISTS
 (SELECT 1 FROM message_sync_claims c WHERE c.claim_token = message_sync.claim_token))`

// inHistory matches rows chat history holds already (a sent row set back
// to processing by hand): relayed again, they would be added twice.
const inHistory = `EXISTS (SELECT 1 FROM chat_messages h
 WHERE h.source_table = 'message_sync' AND h.source_id = message_sync.id)`

// Reasons written to last_error by ReturnOrphans.
const (
	OrphanReason  = "returned to pending: it was processing with no claim in flight (set by hand, or by an older syncd)"
	OrphanRelayed = "back to sent: it was processing with no claim in flight, and chat history has it already (not relayed twice)"
	// OrphanSent replaces OrphanReason when the row is relayed.
	OrphanSent = "relayed after the orphan sweep returned it to pending: it was processing with no claim in flight (set by hand, or by an older syncd)"
)

// Orphans is what ReturnOrphans did.
type Orphans struct {
	Pending int64   // back to pending, to be relayed
	Sent    int64   // in history already: back to sent
	IDs     []int64 // the rows it picked
}

// ReturnOrphans puts up to limit orphaned processing rows of the shard
// whose lease (if any) has run out back to pending with OrphanReason (or
// back to sent if history has them). No attempt is counted: nothing says
// the row itself failed (an older syncd may have died with a whole batch
// claimed), and a row that keeps killing its relayer is caught by
// TakeBack once it is relayed on its own claim. It reads the 'processing' range
// of ix_message_sync_claim, which a fast relay fills with entries InnoDB
// has not purged yet (sql/mysql/0004_claims.sql), so the poller sweeps a
// few buckets at a time, once per lease, rather than on every claim. No
// shard lock is needed: the UPDATEs re-check, row by row, that no claim
// covers the row.
func (s *Store) ReturnOrphans(ctx context.Context, shard Shard, limit int) (Orphans, error) {
	var o Orphans
	lo, hi := shard.bounds()
	now := time.Now()
	expired := ` AND (lease_until IS NULL OR lease_until < ?)`
	if err := s.db.WithContext(ctx).Raw(`SELECT id FROM message_sync `+s.d.ForceIndex("ix_message_sync_claim")+`
WHERE `+orphaned+` AND shard_bucket >= ? AND shard_bucket < ?`+expired+`
ORDER BY shard_bucket, id LIMIT ?`, lo, hi, s.d.Time(now), limit).Scan(&o.IDs).Error; err != nil {
		return o, fmt.Errorf("find orphaned processing rows of buckets %d-%d: %w", lo, hi-1, err)
	}
	if len(o.IDs) == 0 {
		return o, nil
	}
	var err error
	o.Pending, o.Sent, err = s.resolveOrphans(ctx, ` AND id IN ?`+expired, []any{o.IDs, s.d.Time(now)}, false, OrphanReason, now)
	return o, err
}

// resolveOrphans puts the orphaned rows that also match where back to
// sent if history has them, and the others back to pending: with their
// count of attempts kept (the poller's sweep) or with a fresh count
// (requeue).
func (s *Store) resolveOrphans(ctx context.Context, where string, args []any, resetAttempts bool, reason string, now time.Time) (pending, sent int64, err error) {
	res := s.db.WithContext(ctx).Exec(`UPDATE message_sync
SET status = 'sent', processed_at = COALESCE(processed_at, ?), claim_token = NULL, lease_until = NULL, next_attempt_at = NULL, last_error = ?
WHERE `+orphaned+` AND `+inHistory+where, append([]any{s.d.Time(now), OrphanRelayed}, args...)...)
	if res.Error != nil {
		return 0, 0, fmt.Errorf("return orphaned processing rows to sent: %w", res.Error)
	}
	sent = res.RowsAffected
	attempts := "attempts"
	if resetAttempts {
		attempts = "0"
	}
	res = s.db.WithContext(ctx).Exec(`UPDATE message_sync
SET status = 'pending', attempts = `+attempts+`, claim_token = NULL, lease_until = NULL, next_attempt_at = NULL, processed_at = NULL, last_error = ?
WHERE `+orphaned+where, append([]any{reason}, args...)...)
	if res.Error != nil {
		return 0, sent, fmt.Errorf("return orphaned processing rows to pending: %w", res.Error)
	}
	return res.RowsAffected, sent, nil
}

// closeClaim removes a claim's entry in message_sync_claims, in the
// transaction that writes back (or takes back) its last rows.
func closeClaim(tx *gorm.DB, token string) error {
	if err := tx.Exec(`DELETE FROM message_sync_claims WHERE claim_token = ?`, token).Error; err != nil {
		return fmt.Errorf("close claim: %w", err)
	}
	return nil
}

// KeyConflictError: see history.KeyConflictError.
type KeyConflictError = history.KeyConflictError

// Commit writes the outcome of a claim in one transaction, fenced by the
// claim token, and returns the chat messages it added in sequence order.
// ErrClaimLost and *KeyConflictError mean nothing was written.
func (s *Store) Commit(ctx context.Context, c *Claim, out Outcome) ([]chat.Message, error) {
	var added []chat.Message
	ids := out.IDs()
	// The claim's entry goes with the write-back of its last rows. A claim
	// committed in parts (after a failed batch) keeps it until then.
	last := len(c.resolved)+len(ids) >= len(c.Rows)
	// A deadlock rolled everything back: the fenced transaction runs again
	// (the console's reply path has the same policy).
	err := dialect.RetryDeadlocks(func() error {
		return s.commitTx(ctx, c, out, last, &added)
	})
	if err != nil {
		return nil, err
	}
	if c.resolved == nil {
		c.resolved = make(map[int64]bool, len(c.Rows))
	}
	for _, id := range ids {
		c.resolved[id] = true
	}
	return added, nil
}

func (s *Store) commitTx(ctx context.Context, c *Claim, out Outcome, last bool, added *[]chat.Message) error {
	*added = nil
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Microseconds, what DATETIME(6) keeps: a pushed message then
		// carries the created_at that history gives back later.
		now := time.Now().UTC().Truncate(time.Microsecond)
		if err := s.fence(tx, c, out, now); err != nil {
			return err
		}
		if last {
			if err := closeClaim(tx, c.Token); err != nil {
				return err
			}
		}
		relayed, err := s.dropRelayedAlready(tx, out.Relayed)
		if err != nil || len(relayed) == 0 {
			return err
		}
		*added, err = history.New(s.d).AppendRelayed(tx, relayed, now)
		return err
	}, s.d.TxOptions())
}

// RelayedAlready is the last_error of a row that was set back to pending
// after it was sent (a retry by hand): history has it, so it is sent again
// without a second history entry, push or bot reply.
const RelayedAlready = "sent already: chat history has this row (its status was set back after it was sent); not relayed twice"

// dropRelayedAlready returns the rows that history does not hold yet, and
// records RelayedAlready on the others, which fence has just marked sent.
// Without it their duplicate history key failed the whole batch, with the
// other conversations' rows in it, on every retry.
func (s *Store) dropRelayedAlready(tx *gorm.DB, relayed []Relayed) ([]Relayed, error) {
	if len(relayed) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(relayed))
	for _, r := range relayed {
		ids = append(ids, r.Message.SourceID)
	}
	var dup []int64
	for chunk := range slices.Chunk(ids, 1000) {
		var got []int64
		if err := tx.Raw(`SELECT source_id FROM chat_messages WHERE source_table = 'message_sync' AND source_id IN ?`, chunk).
			Scan(&got).Error; err != nil {
			return nil, fmt.Errorf("look up rows relayed already: %w", err)
		}
		dup = append(dup, got...)
	}
	if len(dup) == 0 {
		return relayed, nil
	}
	if err := tx.Exec(`UPDATE message_sync SET last_error = ? WHERE id IN ?`, RelayedAlready, dup).Error; err != nil {
		return nil, fmt.Errorf("record rows relayed already: %w", err)
	}
	return slices.DeleteFunc(slices.Clone(relayed), func(r Relayed) bool {
		return slices.Contains(dup, r.Message.SourceID)
	}), nil
}

// fence runs the status write-backs first, so that a lost claim is noticed
// before any history is written, and so the rows stay locked by this
// transaction until it commits.
func (s *Store) fence(tx *gorm.DB, c *Claim, out Outcome, now time.Time) error {
	check := func(what string, res *gorm.DB, want int) error {
		if res.Error != nil {
			return fmt.Errorf("write back %s: %w", what, res.Error)
		}
		if res.RowsAffected != int64(want) {
			return fmt.Errorf("write back %s: %d of %d rows still claimed: %w", what, res.RowsAffected, want, ErrClaimLost)
		}
		return nil
	}
	var ids []int64
	for _, r := range out.Relayed {
		if r.Message.Note != "" {
			// Sent, with the note saying why the bot did not answer.
			res := tx.Exec(`UPDATE message_sync SET status = 'sent', processed_at = ?, lease_until = NULL,
    next_attempt_at = NULL, last_error = ?
WHERE claim_token = ? AND status = 'processing' AND id = ?`, s.d.Time(now), truncate(r.Message.Note, 4000), c.Token, r.Message.SourceID)
			if err := check("sent", res, 1); err != nil {
				return err
			}
			continue
		}
		ids = append(ids, r.Message.SourceID)
	}
	for chunk := range slices.Chunk(ids, 1000) {
		// A row the orphan sweep returned keeps saying so once sent: an
		// operator looking for it finds why it took a detour.
		res := tx.Exec(`UPDATE message_sync SET status = 'sent', processed_at = ?, lease_until = NULL,
    next_attempt_at = NULL, last_error = CASE WHEN last_error = ? THEN ? ELSE NULL END
WHERE claim_token = ? AND status = 'processing' AND id IN ?`, s.d.Time(now), OrphanReason, OrphanSent, c.Token, chunk)
		if err := check("sent", res, len(chunk)); err != nil {
			return err
		}
	}
	for _, f := range out.Failed {
		res := tx.Exec(`UPDATE message_sync SET status = 'failed', processed_at = ?, lease_until = NULL,
    next_attempt_at = NULL, last_error = ?
WHERE claim_token = ? AND status = 'processing' AND id = ?`, s.d.Time(now), truncate(f.Reason, 4000), c.Token, f.ID)
		if err := check("failed", res, 1); err != nil {
			return err
		}
	}
	for _, r := range out.Retry {
		res := tx.Exec(`UPDATE message_sync SET status = 'pending', attempts = attempts + 1, next_attempt_at = ?,
    last_error = ?, claim_token = NULL, lease_until = NULL
WHERE claim_token = ? AND status = 'processing' AND id = ?`, s.d.Time(r.At), truncate(r.Reason, 4000), c.Token, r.ID)
		if err := check("retry", res, 1); err != nil {
			return err
		}
	}
	for chunk := range slices.Chunk(out.Release, 1000) {
		res := tx.Exec(`UPDATE message_sync SET status = 'pending', claim_token = NULL, lease_until = NULL
WHERE claim_token = ? AND status = 'processing' AND id IN ?`, c.Token, chunk)
		if err := check("release", res, len(chunk)); err != nil {
			return err
		}
	}
	return nil
}

// waitMode says how a batch changes a conversation's waiting_since and
// answered_by.
func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make claim token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
