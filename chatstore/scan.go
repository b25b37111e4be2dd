package chatstore

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/internal/dbtime"
)

type dbTime = dbtime.Time

// messageCols are the chat_messages columns scanMessage reads, for the
// alias m.
const messageCols = `m.id, m.conversation_key, m.seq, m.sender_type, m.sender_name, m.kind, m.body,
  m.payload, m.source_id, m.intent, m.confidence, m.suggestion, m.created_at, m.client_id, m.note`

// previewCols are messageCols for a conversation's last message, which it
// carries as a chatcore.Preview (in the list and in every conversation
// frame): the body is cut in SQL (one character more shows that it was
// cut) and the payload, suggestion and note are left out, so that a long
// one never crosses the wire and a conversation's size does not depend on
// what a legacy application wrote. An assignment event keeps its payload
// (who gave it to whom: a few bytes syncd wrote), which the console words
// in the agent's language.
var previewCols = fmt.Sprintf(`m.id, m.conversation_key, m.seq, m.sender_type, m.sender_name, m.kind, SUBSTR(m.body, 1, %d),
  CASE WHEN m.kind = 'assignment' AND m.source_table IS NULL THEN m.payload END, m.source_id, m.intent, m.confidence, NULL, m.created_at, m.client_id, NULL`, chatcore.PreviewChars+1)

// messageScan holds one message's columns, all nullable so that it also
// serves a LEFT JOIN that found nothing.
type messageScan struct {
	id, seq, sourceID                 sql.NullInt64
	key, senderType, senderName, kind sql.NullString
	body, payload, intent, suggestion sql.NullString
	clientID, note                    sql.NullString
	confidence                        sql.NullFloat64
	createdAt                         dbTime
}

func (m *messageScan) dest() []any {
	return []any{&m.id, &m.key, &m.seq, &m.senderType, &m.senderName, &m.kind, &m.body,
		&m.payload, &m.sourceID, &m.intent, &m.confidence, &m.suggestion, &m.createdAt, &m.clientID, &m.note}
}

// preview is the message read with previewCols, as its chatcore.Preview.
func (m *messageScan) preview() *chatcore.Message {
	out := m.message(nil)
	if out == nil {
		return nil
	}
	p := chatcore.Preview(*out)
	return &p
}

// message builds the message; suggest, when set, supplies the bot's
// suggestion for a classified customer message whose suggestion the relay
// left to be looked up.
func (m *messageScan) message(suggest func(string, float64, string) string) *chatcore.Message {
	if !m.id.Valid {
		return nil
	}
	out := &chatcore.Message{ClientID: m.clientID.String, Message: chat.Message{
		ID: m.id.Int64, ConversationKey: m.key.String, Seq: m.seq.Int64,
		SenderType: chat.SenderType(m.senderType.String), SenderName: m.senderName.String,
		Kind: m.kind.String, Body: m.body.String, SourceID: m.sourceID.Int64,
		Intent: m.intent.String, Confidence: m.confidence.Float64, Suggestion: m.suggestion.String,
		Note: m.note.String, CreatedAt: m.createdAt.Time,
	}}
	// NULL means the relay left the suggestion to be looked up (see
	// store.suggestionColumn); "" that there was none.
	if !m.suggestion.Valid && suggest != nil && out.SenderType == chat.SenderCustomer && out.Intent != "" {
		out.Suggestion = suggest(out.Intent, out.Confidence, out.Body)
	}
	if p := m.payload.String; m.payload.Valid && p != "" {
		if json.Valid([]byte(p)) {
			out.Payload = json.RawMessage(p)
		} else { // the legacy application wrote text that is not JSON
			q, _ := json.Marshal(p)
			out.Payload = q
		}
	}
	return out
}

// conversationCols are the columns scanConversation reads: the conversation
// (alias c), the agent's read marker (read_seq), the last message's
// preview (alias m).
var conversationCols = `c.id, c.conversation_key, c.state, c.assignee, c.last_seq,
  c.last_message_at, c.waiting_since, c.answered_by, c.wants_agent, c.updated_at,
  c.assigned_at, c.agent_replied_at, ` + "%s AS read_seq, " + previewCols

// conversationFrom is the FROM clause for conversationCols; the read marker
// join needs the username as its first argument when withReads is set.
func conversationFrom(withReads bool) (cols, from string) {
	if !withReads {
		return fmt.Sprintf(conversationCols, "0"), `FROM conversations c
LEFT JOIN chat_messages m ON m.conversation_key = c.conversation_key AND m.seq = c.last_seq`
	}
	return fmt.Sprintf(conversationCols, "COALESCE(r.read_seq, 0)"), `FROM conversations c
LEFT JOIN console_reads r ON r.conversation_key = c.conversation_key AND r.username = ?
LEFT JOIN chat_messages m ON m.conversation_key = c.conversation_key AND m.seq = c.last_seq`
}

func (s *DB) scanConversations(rows *sql.Rows) ([]chatcore.Conversation, error) {
	defer rows.Close()
	var out []chatcore.Conversation
	for rows.Next() {
		var (
			cv                   chatcore.Conversation
			state, assignee      sql.NullString
			answeredBy           sql.NullString
			wantsAgent           bool
			lastAt, waiting, upd dbTime
			assignedAt, replied  dbTime
			readSeq              int64
			m                    messageScan
		)
		dest := append([]any{&cv.ID, &cv.Key, &state, &assignee, &cv.LastSeq, &lastAt, &waiting, &answeredBy, &wantsAgent, &upd, &assignedAt, &replied, &readSeq}, m.dest()...)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan conversation: %w", err)
		}
		cv.State = chatcore.State(state.String)
		cv.Assignee = assignee.String
		cv.AnsweredBy, cv.WantsAgent = chat.SenderType(answeredBy.String), wantsAgent
		cv.LastMessageAt, cv.WaitingSince, cv.UpdatedAt = lastAt.Time, waiting.Time, upd.Time
		cv.AssignedAt, cv.AgentRepliedAt = assignedAt.Time, replied.Time
		cv.LastMessage = m.preview()
		out = append(out, cv.ForAgent(readSeq))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read conversations: %w", err)
	}
	return out, nil
}

func (s *DB) scanMessages(rows *sql.Rows) ([]chatcore.Message, error) {
	defer rows.Close()
	var out []chatcore.Message
	for rows.Next() {
		var m messageScan
		if err := rows.Scan(m.dest()...); err != nil {
			return nil, fmt.Errorf("scan message: %w", err)
		}
		out = append(out, *m.message(s.suggest))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	return out, nil
}
