package history

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/internal/dbtime"
)

// Retention deletes history older than a horizon (retention.history).
// This package is the one writer of the chat tables, so their deletes
// live here, next to the inserts whose locking they rely on.
//
// A chat message is kept, however old, while
//   - an agent's label points at it (chat_labels): it is the bot's
//     training data, which `syncd bot learn` reads with the message text;
//   - the message_sync row it was relayed from still exists: the relay
//     tells a sent row set back to pending by this entry (store's
//     dropRelayedAlready), and would relay it twice without it.
//
// A conversation goes only once it has no message left, no reply waits
// for the legacy application, and nothing touched it since the horizon;
// its console read marks go with it.

// expiredMessage is the condition on chat_messages m of a message
// retention may delete; its one argument is the horizon.
const expiredMessage = `m.created_at < ?
   AND NOT EXISTS (SELECT 1 FROM chat_labels l WHERE l.message_id = m.id)
   AND NOT EXISTS (SELECT 1 FROM message_sync s WHERE m.source_table = 'message_sync' AND s.id = m.source_id)`

// emptyConversation is the condition on conversations c of one retention
// may delete; its two arguments are the horizon.
const emptyConversation = `c.updated_at < ? AND (c.last_message_at IS NULL OR c.last_message_at < ?)
   AND NOT EXISTS (SELECT 1 FROM chat_messages m WHERE m.conversation_key = c.conversation_key)
   AND NOT EXISTS (SELECT 1 FROM message_reply r WHERE r.conversation_key = c.conversation_key AND r.status = 'pending')`

// PurgeMessages deletes up to limit expired chat messages, oldest first,
// and returns how many it deleted. tx may be a transaction or the pool
// (each statement then is one short transaction of its own).
func (w Writer) PurgeMessages(tx *gorm.DB, before time.Time, limit int) (int64, error) {
	var ids []int64
	if err := tx.Raw(`SELECT m.id FROM chat_messages m `+w.d.ForceIndex("ix_chat_messages_created")+`
 WHERE `+expiredMessage+` ORDER BY m.created_at LIMIT ?`, w.d.Time(before), limit).Scan(&ids).Error; err != nil {
		return 0, fmt.Errorf("find expired chat messages: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	// The condition again: a label given since the SELECT keeps its message.
	res := tx.Exec(`DELETE FROM chat_messages WHERE id IN ? AND created_at < ?
   AND NOT EXISTS (SELECT 1 FROM chat_labels l WHERE l.message_id = chat_messages.id)
   AND NOT EXISTS (SELECT 1 FROM message_sync s WHERE chat_messages.source_table = 'message_sync' AND s.id = chat_messages.source_id)`,
		ids, w.d.Time(before))
	if res.Error != nil {
		return 0, fmt.Errorf("delete expired chat messages: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// PurgeConversations deletes up to limit conversations left empty before
// the horizon, with their console read marks, in one transaction of its
// own on db.
func (w Writer) PurgeConversations(db *gorm.DB, before time.Time, limit int) (int64, error) {
	t := w.d.Time(before)
	var cand []int64
	if err := db.Raw(`SELECT c.id FROM conversations c `+w.d.ForceIndex("ix_conversations_updated")+`
 WHERE `+emptyConversation+` ORDER BY c.updated_at LIMIT ?`, t, t, limit).Scan(&cand).Error; err != nil {
		return 0, fmt.Errorf("find empty conversations: %w", err)
	}
	if len(cand) == 0 {
		return 0, nil
	}
	var deleted int64
	err := db.Transaction(func(tx *gorm.DB) error {
		// Every writer of a conversation's messages takes its row first
		// (the relay's upsert, AgentSeq), so once the rows are locked no
		// message can join them before this commits. The check runs in a
		// statement of its own, after the lock: under READ COMMITTED it
		// then sees what the writers it waited for committed (a locking
		// read's subqueries would read the older snapshot on PostgreSQL).
		var locked []int64
		if err := tx.Raw(`SELECT id FROM conversations WHERE id IN ? ORDER BY id`+w.d.ForUpdate(), cand).Scan(&locked).Error; err != nil {
			return fmt.Errorf("lock empty conversations: %w", err)
		}
		type conv struct {
			ID              int64
			ConversationKey string
		}
		var gone []conv
		if err := tx.Raw(`SELECT c.id, c.conversation_key FROM conversations c WHERE c.id IN ? AND `+emptyConversation, cand, t, t).
			Scan(&gone).Error; err != nil {
			return fmt.Errorf("check empty conversations: %w", err)
		}
		if len(gone) == 0 {
			return nil
		}
		ids := make([]int64, len(gone))
		keys := make([]string, len(gone))
		for i, c := range gone {
			ids[i], keys[i] = c.ID, c.ConversationKey
		}
		if err := tx.Exec(`DELETE FROM console_reads WHERE conversation_key IN ?`, keys).Error; err != nil {
			return fmt.Errorf("delete read marks of empty conversations: %w", err)
		}
		res := tx.Exec(`DELETE FROM conversations WHERE id IN ?`, ids)
		if res.Error != nil {
			return fmt.Errorf("delete empty conversations: %w", res.Error)
		}
		deleted = res.RowsAffected
		return nil
	}, w.d.TxOptions())
	return deleted, err
}

// Expired is what a retention pass would delete from one table now.
type Expired struct {
	Rows           int64
	Oldest, Newest time.Time // zero when Rows is 0
}

// ExpiredMessages counts the chat messages PurgeMessages would delete.
func (w Writer) ExpiredMessages(tx *gorm.DB, before time.Time) (Expired, error) {
	return ScanExpired(tx, `SELECT COUNT(*), MIN(m.created_at), MAX(m.created_at) FROM chat_messages m WHERE `+expiredMessage,
		"count expired chat messages", w.d.Time(before))
}

// EmptyConversations counts the conversations PurgeConversations would
// delete now; more become empty as their messages go.
func (w Writer) EmptyConversations(tx *gorm.DB, before time.Time) (Expired, error) {
	t := w.d.Time(before)
	return ScanExpired(tx, `SELECT COUNT(*), MIN(c.updated_at), MAX(c.updated_at) FROM conversations c WHERE `+emptyConversation,
		"count empty conversations", t, t)
}

// ScanExpired runs q, a SELECT COUNT(*), MIN(time), MAX(time), for a
// preview; what names it in the error.
func ScanExpired(tx *gorm.DB, q, what string, args ...any) (Expired, error) {
	var e Expired
	var oldest, newest dbtime.Time
	if err := tx.Raw(q, args...).Row().Scan(&e.Rows, &oldest, &newest); err != nil {
		return e, fmt.Errorf("%s: %w", what, err)
	}
	e.Oldest, e.Newest = oldest.Time, newest.Time
	return e, nil
}
