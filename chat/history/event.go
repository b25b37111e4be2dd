package history

import (
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/internal/dialect"
)

// Reassign moves conversation convID from agent from ("": unassigned) to
// agent to ("": released), only if from still holds it, and reports
// whether it did. The caller read from in its transaction; a false means
// someone changed the assignee since, and the caller decides again.
func (w Writer) Reassign(tx *gorm.DB, convID int64, from, to string, at time.Time) (bool, error) {
	holder := `assignee = ?`
	var assignedAt any
	if to != "" {
		assignedAt = w.d.Time(at)
	}
	args := []any{dialect.NullIfEmpty(to), assignedAt, w.d.Time(at), convID}
	if from == "" {
		holder = `(assignee IS NULL OR assignee = '')`
	} else {
		args = append(args, from)
	}
	// assigned_at restarts the reply target's clock for the new holder
	// (0012_sla): a conversation handed over is not late for her at once.
	res := tx.Exec(`UPDATE conversations SET assignee = ?, assigned_at = ?, updated_at = ? WHERE id = ? AND `+holder, args...)
	if res.Error != nil {
		return false, fmt.Errorf("reassign conversation: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Event is a system entry of a conversation's history written by the
// console (not relayed): who did what, for the agents; never for the
// legacy application.
type Event struct {
	ConversationKey string
	Kind            string // e.g. chat.KindAssignment
	Actor           string // the agent who did it; "" for syncd itself
	Body            string // an English sentence, for readers without the console's texts
	Payload         any    // marshalled to JSON; nil for none
	At              time.Time
}

// AppendEvent writes e to conversation convID's history with the next
// seq and returns it as stored. The conversation's waiting state and
// last_message_at stay: an event answers nobody and is not news of the
// customer. Its UPDATE takes the row lock the relay and replies take.
func (w Writer) AppendEvent(tx *gorm.DB, convID int64, e Event) (chat.Message, error) {
	var payload []byte
	if e.Payload != nil {
		var err error
		if payload, err = json.Marshal(e.Payload); err != nil {
			return chat.Message{}, fmt.Errorf("encode event payload: %w", err)
		}
	}
	at := w.d.Time(e.At)
	if err := tx.Exec(`UPDATE conversations SET last_seq = last_seq + 1, updated_at = ? WHERE id = ?`, at, convID).Error; err != nil {
		return chat.Message{}, fmt.Errorf("bump last_seq for an event: %w", err)
	}
	var seq int64
	if err := tx.Raw(`SELECT last_seq FROM conversations WHERE id = ?`, convID).Row().Scan(&seq); err != nil {
		return chat.Message{}, fmt.Errorf("read last_seq: %w", err)
	}
	var payloadArg any
	if payload != nil {
		payloadArg = string(payload)
	}
	id, err := w.d.InsertID(tx.Statement.Context, tx.Statement.ConnPool, `INSERT INTO chat_messages
  (conversation_key, seq, sender_type, sender_name, kind, body, payload, created_at)
  VALUES (?, ?, 'system', ?, ?, ?, ?, ?)`,
		e.ConversationKey, seq, dialect.NullIfEmpty(e.Actor), e.Kind, e.Body, payloadArg, at)
	if err != nil {
		return chat.Message{}, fmt.Errorf("insert %s event: %w", e.Kind, err)
	}
	return chat.Message{
		ID: id, ConversationKey: e.ConversationKey, Seq: seq, SenderType: chat.SenderSystem,
		SenderName: e.Actor, Kind: e.Kind, Body: e.Body, Payload: payload,
		CreatedAt: e.At.UTC().Truncate(time.Microsecond),
	}, nil
}

// AssignmentEvent is the history entry of by moving a conversation from
// one agent to another ("" on either side: nobody).
func AssignmentEvent(key, by, from, to string, at time.Time) Event {
	var body string
	switch {
	case to == "":
		body = fmt.Sprintf("%s released this conversation", by)
	case to == by && from == "":
		body = fmt.Sprintf("%s took this conversation", by)
	case to == by:
		body = fmt.Sprintf("%s took this conversation over from %s", by, from)
	default:
		body = fmt.Sprintf("%s handed this conversation to %s", by, to)
	}
	return Event{ConversationKey: key, Kind: chat.KindAssignment, Actor: by, Body: body,
		Payload: chat.AssignmentPayload{By: by, From: from, To: to}, At: at}
}
