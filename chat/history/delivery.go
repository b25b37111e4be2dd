package history

// Webhook delivery state of message_reply (sql/mysql/0016_webhooks.sql).
// This package writes message_reply, so its delivery columns are written
// here too; the statements keep the relay's claim contract:
//   - work is found by delivery_status, oldest first;
//   - a claim marks rows 'processing' with a fresh token and a lease in one
//     UPDATE that re-checks delivery_status = 'pending', then reads them
//     back by token, so two instances never claim the same row;
//   - every result is written only where the token still matches and the
//     row is 'processing': a holder whose lease was taken back writes
//     nothing;
//   - a lease that ran out (its holder died) is taken back to 'pending'.
// The legacy columns (status, done_at) are never touched.

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/internal/dbtime"
)

// ErrDeliveryLost means a fenced delivery write-back matched no row: the
// claim was taken back (its lease ran out). Nothing was written.
var ErrDeliveryLost = errors.New("delivery claim lost: the reply was taken back")

// Delivery is a claimed reply to POST.
type Delivery struct {
	ID              int64
	ConversationKey string
	Body            string
	AuthorType      string // agent or bot
	AuthorName      string
	InReplyTo       int64 // message_sync.id answered; 0 for none
	ChatMessageID   int64
	CreatedAt       time.Time
	Attempts        int // POSTs made before this claim
}

// ClaimDeliveries marks up to limit due 'pending' replies 'processing'
// under token until leaseUntil, and returns them in id order.
func (w Writer) ClaimDeliveries(db *gorm.DB, token, claimer string, limit int, now, leaseUntil time.Time) ([]Delivery, error) {
	var ids []int64
	if err := db.Raw(`SELECT id FROM message_reply `+w.d.ForceIndex("ix_message_reply_delivery")+`
WHERE delivery_status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
ORDER BY delivery_status, id LIMIT ?`, w.d.Time(now), limit).Scan(&ids).Error; err != nil {
		return nil, fmt.Errorf("find replies to deliver: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var out []Delivery
	err := db.Transaction(func(tx *gorm.DB) error {
		// delivery_status = 'pending' again: a row another instance claimed
		// meanwhile is skipped.
		res := tx.Exec(`UPDATE message_reply SET delivery_status = 'processing', claim_token = ?, claimed_by = ?, lease_until = ?
WHERE delivery_status = 'pending' AND id IN ?`, token, claimer, w.d.Time(leaseUntil), ids)
		if res.Error != nil {
			return fmt.Errorf("claim replies to deliver: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		rows, err := tx.Raw(`SELECT id, conversation_key, body, author_type, author_name, COALESCE(in_reply_to, 0),
  COALESCE(chat_message_id, 0), created_at, COALESCE(attempts, 0)
FROM message_reply WHERE claim_token = ? AND delivery_status = 'processing' AND id IN ? ORDER BY id`, token, ids).Rows()
		if err != nil {
			return fmt.Errorf("read claimed replies: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var d Delivery
			var created dbtime.WriterTime
			if err := rows.Scan(&d.ID, &d.ConversationKey, &d.Body, &d.AuthorType, &d.AuthorName, &d.InReplyTo,
				&d.ChatMessageID, &created, &d.Attempts); err != nil {
				return fmt.Errorf("read claimed replies: %w", err)
			}
			d.CreatedAt = created.Time
			out = append(out, d)
		}
		return rows.Err()
	}, w.d.TxOptions())
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeliveryResult is what became of one POST.
type DeliveryResult struct {
	Delivered bool
	// Error is the POST's error ("" when delivered). With RetryAt set the
	// reply goes back to 'pending' until then; without, it is 'failed'.
	Error   string
	RetryAt time.Time
}

// FinishDelivery writes the result of one POST of a claimed reply, fenced
// by token, and counts the attempt. ErrDeliveryLost: nothing was written.
func (w Writer) FinishDelivery(db *gorm.DB, id int64, token string, r DeliveryResult, now time.Time) error {
	var res *gorm.DB
	const fence = ` WHERE id = ? AND claim_token = ? AND delivery_status = 'processing'`
	const count = `attempts = COALESCE(attempts, 0) + 1, claim_token = NULL, lease_until = NULL`
	switch {
	case r.Delivered:
		res = db.Exec(`UPDATE message_reply SET delivery_status = 'delivered', delivered_at = ?, next_attempt_at = NULL,
  last_error = NULL, `+count+fence, w.d.Time(now), id, token)
	case !r.RetryAt.IsZero():
		res = db.Exec(`UPDATE message_reply SET delivery_status = 'pending', next_attempt_at = ?, last_error = ?, `+count+fence,
			w.d.Time(r.RetryAt), truncate(r.Error, 4000), id, token)
	default:
		res = db.Exec(`UPDATE message_reply SET delivery_status = 'failed', next_attempt_at = NULL, last_error = ?, `+count+fence,
			truncate(r.Error, 4000), id, token)
	}
	if res.Error != nil {
		return fmt.Errorf("write back delivery of reply %d: %w", id, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("write back delivery of reply %d: %w", id, ErrDeliveryLost)
	}
	return nil
}

// ReleaseDeliveries returns claimed replies not POSTed to 'pending' at
// once, without counting an attempt (the worker is stopping, or its lease
// is too short for another POST).
func (w Writer) ReleaseDeliveries(db *gorm.DB, token string, ids []int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	res := db.Exec(`UPDATE message_reply SET delivery_status = 'pending', claim_token = NULL, lease_until = NULL
WHERE claim_token = ? AND delivery_status = 'processing' AND id IN ?`, token, ids)
	if res.Error != nil {
		return 0, fmt.Errorf("release claimed replies: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// TakeBackDeliveries returns to 'pending' the claimed replies whose lease
// ran out before now: their holder died or stalled, and its write-back
// will find its token gone. Their POST may have reached the receiver, so
// they are delivered again (at least once; Syncd-Delivery lets the
// receiver drop the repeat).
func (w Writer) TakeBackDeliveries(db *gorm.DB, now time.Time) (int64, error) {
	res := db.Exec(`UPDATE message_reply SET delivery_status = 'pending', claim_token = NULL, lease_until = NULL,
  last_error = ?
WHERE delivery_status = 'processing' AND lease_until < ?`, AbandonedDelivery, w.d.Time(now))
	if res.Error != nil {
		return 0, fmt.Errorf("take back abandoned deliveries: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// AbandonedDelivery is the last_error of a reply TakeBackDeliveries
// returned; claimed_by still names the instance that held it.
const AbandonedDelivery = "delivery claim abandoned: its lease ran out before the result was written (the instance died or stalled); delivered again"

// DeliveryBacklog counts the replies waiting for delivery ('pending' or
// 'processing').
func (w Writer) DeliveryBacklog(db *gorm.DB) (int64, error) {
	var n int64
	if err := db.Raw(`SELECT COUNT(*) FROM message_reply WHERE delivery_status IN ('pending', 'processing')`).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("count replies to deliver: %w", err)
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
