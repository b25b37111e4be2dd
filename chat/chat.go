// Package chat holds the few types that the relay, the chat core and the bot
// share: a chat message as agents see it, and who sent it. It has no logic
// and no dependencies so that every other package can import it.
package chat

import (
	"encoding/json"
	"time"
)

// SenderType says who wrote a chat message.
type SenderType string

const (
	SenderCustomer SenderType = "customer" // relayed from message_sync
	SenderAgent    SenderType = "agent"    // typed in the console
	SenderBot      SenderType = "bot"      // the intent bot's auto-reply
	SenderSystem   SenderType = "system"   // business events such as order_created
)

// KindMessage is the message_sync.kind of an ordinary customer message; any
// other kind is a business event and becomes a system note.
const KindMessage = "message"

// KindNote is the kind of an agent's private note: a chat_messages row of
// sender_type agent that only agents see. It never reaches message_reply.
// (A relayed event may carry any kind, "note" too, but relayed rows are
// never sender_type agent, so the pair is unambiguous.)
const KindNote = "note"

// SourceMessageSync names the message_sync table in chat_messages.source_table.
const SourceMessageSync = "message_sync"

// Message is one entry of a conversation's history, as stored in
// chat_messages and as pushed to agents.
type Message struct {
	ID              int64           `json:"id"`
	ConversationKey string          `json:"conversation_key"`
	Seq             int64           `json:"seq"` // 1, 2, 3 … within the conversation, no gaps
	SenderType      SenderType      `json:"sender_type"`
	SenderName      string          `json:"sender_name,omitempty"`
	Kind            string          `json:"kind"`
	Body            string          `json:"body"`
	Payload         json.RawMessage `json:"payload,omitempty"`
	SourceID        int64           `json:"source_id,omitempty"` // message_sync.id for relayed rows
	Intent          string          `json:"intent,omitempty"`
	Confidence      float64         `json:"confidence,omitempty"`
	Suggestion      string          `json:"suggestion,omitempty"` // the bot's answer, shown to agents when not sent
	Note            string          `json:"note,omitempty"`       // why the bot did not answer, shown to agents
	CreatedAt       time.Time       `json:"created_at"`
}

// KindAssignment is the kind of the system event written when a
// conversation's assignee changes (taken, released, handed over); its
// payload is an AssignmentPayload.
const KindAssignment = "assignment"

// AssignmentPayload is the payload of a KindAssignment event: By changed
// the assignee From (empty: unassigned) To (empty: released).
type AssignmentPayload struct {
	By   string `json:"by"`
	From string `json:"from"`
	To   string `json:"to"`
}
