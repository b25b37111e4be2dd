package history

import (
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat"
)

// Event is a system event of the console's own in a conversation's history
// (a conversation returned for want of a reply).
type Event struct {
	ConversationKey string
	Kind            string // e.g. "sla_returned"
	Body            string // what it says in English, for readers without the console's texts
	Payload         any    // encoded as JSON
	At              time.Time
}

// AppendEvent writes e at the conversation's next seq, without touching
// who waits or when the last message came (an event is not a message
// anyone answers), and returns it as stored.
func (w Writer) AppendEvent(tx *gorm.DB, convID int64, e Event) (chat.Message, error) {
	t := w.d.Time(e.At)
	if err := tx.Exec(`UPDATE conversations SET last_seq = last_seq + 1, updated_at = ? WHERE id = ?`, t, convID).Error; err != nil {
		return chat.Message{}, fmt.Errorf("bump last_seq: %w", err)
	}
	var seq int64
	if err := tx.Raw(`SELECT last_seq FROM conversations WHERE id = ?`, convID).Row().Scan(&seq); err != nil {
		return chat.Message{}, fmt.Errorf("read last_seq: %w", err)
	}
	payload, err := json.Marshal(e.Payload)
	if err != nil {
		return chat.Message{}, fmt.Errorf("encode event payload: %w", err)
	}
	ctx, pool := tx.Statement.Context, tx.Statement.ConnPool
	id, err := w.d.InsertID(ctx, pool, `INSERT INTO chat_messages
  (conversation_key, seq, sender_type, kind, body, payload, created_at)
  VALUES (?, ?, 'system', ?, ?, ?, ?)`, e.ConversationKey, seq, e.Kind, e.Body, string(payload), t)
	if err != nil {
		return chat.Message{}, fmt.Errorf("insert event: %w", err)
	}
	return chat.Message{ID: id, ConversationKey: e.ConversationKey, Seq: seq, SenderType: chat.SenderSystem,
		Kind: e.Kind, Body: e.Body, Payload: payload, CreatedAt: e.At.UTC().Truncate(time.Microsecond)}, nil
}
