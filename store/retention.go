package store

import (
	"context"
	"fmt"
	"time"

	"github.com/syncd-dev/syncd/chat/history"
)

// Expired is a kind of finished row that retention deletes once it is
// older than its horizon. Rows in flight are none of these: message_sync
// rows pending or processing, and replies the legacy application has not
// marked done, are never deleted.
type Expired int

const (
	SentRows           Expired = iota // message_sync, status sent, by processed_at
	FailedRows                        // message_sync, status failed, by processed_at
	RepliesDone                       // message_reply, status done, by done_at
	HistoryMessages                   // chat_messages, by created_at (chat/history says which stay)
	EmptyConversations                // conversations without messages, by updated_at
)

// ExpiredKinds lists the kinds in the order a pass deletes them: source
// rows before the history that waits for them, messages before the
// conversations they leave empty.
var ExpiredKinds = []Expired{SentRows, FailedRows, RepliesDone, HistoryMessages, EmptyConversations}

// Table is the table the kind is deleted from.
func (e Expired) Table() string {
	switch e {
	case SentRows, FailedRows:
		return "message_sync"
	case RepliesDone:
		return "message_reply"
	case HistoryMessages:
		return "chat_messages"
	}
	return "conversations"
}

func (e Expired) String() string {
	return [...]string{"sent rows", "failed rows", "replies done", "chat history", "empty conversations"}[e]
}

// Preview is what a pass would delete of one kind now.
type Preview = history.Expired

// finished is the condition of an expired message_sync or message_reply
// row, its arguments the status and the horizon; its time column leads
// the index (sql/*/0015_retention.sql) after status.
func (e Expired) finished() (table, index, status, at string) {
	switch e {
	case SentRows:
		return "message_sync", "ix_message_sync_finished", "sent", "processed_at"
	case FailedRows:
		return "message_sync", "ix_message_sync_finished", "failed", "processed_at"
	}
	return "message_reply", "ix_message_reply_done", "done", "done_at"
}

// SetWebhookDelivery tells retention that a webhook delivers replies:
// a done reply whose delivery is pending or in flight is kept until it is
// delivered or failed. Without a webhook delivery_status means nothing.
func (s *Store) SetWebhookDelivery(on bool) { s.keepUndelivered = on }

// undelivered is the condition that keeps such replies.
func (s *Store) undelivered(table string) string {
	if table != "message_reply" || !s.keepUndelivered {
		return ""
	}
	return ` AND (delivery_status IS NULL OR delivery_status IN ('delivered', 'failed'))`
}

// PurgeBatch deletes up to limit expired rows of kind e, oldest first,
// and returns how many went. Each statement is a short transaction of its
// own; the DELETE names its rows by primary key and checks their status
// again, so a row set back to pending by hand since the SELECT stays.
func (s *Store) PurgeBatch(ctx context.Context, e Expired, before time.Time, limit int) (int64, error) {
	db := s.db.WithContext(ctx)
	w := history.New(s.d)
	switch e {
	case HistoryMessages:
		return w.PurgeMessages(db, before, limit)
	case EmptyConversations:
		return w.PurgeConversations(db, before, limit)
	}
	table, index, status, at := e.finished()
	t := s.d.Time(before)
	guard := ""
	args := []any{status, t}
	if table == "message_sync" {
		// The newest row stays, whatever its age: MySQL before 8.0 and
		// MariaDB before 10.2.4 set the next AUTO_INCREMENT to MAX(id)+1
		// on restart, and an id handed out again would find the old row's
		// history entry and be taken as relayed already.
		var maxID int64
		if err := db.Raw(`SELECT COALESCE(MAX(id), 0) FROM message_sync`).Row().Scan(&maxID); err != nil {
			return 0, fmt.Errorf("read the newest row id: %w", err)
		}
		guard = ` AND id < ?`
		args = append(args, maxID)
	}
	var ids []int64
	if err := db.Raw(`SELECT id FROM `+table+` `+s.d.ForceIndex(index)+`
 WHERE status = ? AND `+at+` < ?`+guard+s.undelivered(table)+` ORDER BY `+at+` LIMIT ?`, append(args, limit)...).Scan(&ids).Error; err != nil {
		return 0, fmt.Errorf("find expired %s: %w", e, err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	res := db.Exec(`DELETE FROM `+table+` WHERE id IN ? AND status = ? AND `+at+` < ?`+s.undelivered(table), ids, status, t)
	if res.Error != nil {
		return 0, fmt.Errorf("delete expired %s: %w", e, res.Error)
	}
	return res.RowsAffected, nil
}

// PreviewPurge counts what PurgeBatch would delete of kind e, with the
// oldest and newest time among those rows, for `syncd purge --dry-run`.
// It reads every expired row's index entry, so it is for operators, not
// for a loop.
func (s *Store) PreviewPurge(ctx context.Context, e Expired, before time.Time) (Preview, error) {
	db := s.db.WithContext(ctx)
	w := history.New(s.d)
	switch e {
	case HistoryMessages:
		return w.ExpiredMessages(db, before)
	case EmptyConversations:
		return w.EmptyConversations(db, before)
	}
	table, _, status, at := e.finished()
	q := `SELECT COUNT(*), MIN(` + at + `), MAX(` + at + `) FROM ` + table + ` WHERE status = ? AND ` + at + ` < ?`
	if table == "message_sync" {
		q += ` AND id < (SELECT COALESCE(MAX(id), 0) FROM message_sync)`
	}
	q += s.undelivered(table)
	return history.ScanExpired(db, q, "count expired "+e.String(), status, s.d.Time(before))
}
