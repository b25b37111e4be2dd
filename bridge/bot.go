package bridge

import (
	"context"
	"encoding/json"
)

// Inbound is what the bot sees of one valid claimed row.
type Inbound struct {
	SourceID        int64
	ConversationKey string
	Kind            string // chat.KindMessage, or an event name such as order_created
	Body            string
	SenderName      string
	Payload         json.RawMessage // nil when the row had none
}

// Verdict is the bot's view of one Inbound.
type Verdict struct {
	Intent     string  // "" when the bot has no opinion (events, bot off)
	Confidence float64 // 0..1
	// AutoReply, when not empty, is sent to the customer by itself: it is
	// written to chat history and to message_reply in the relay transaction.
	AutoReply string
	// Resolves: the AutoReply settles the message (a greeting, thanks) and
	// takes the conversation off the agents' queue; any other auto-reply
	// leaves it waiting for an agent.
	Resolves bool
	// Handoff: the customer asks for a person; the conversation keeps
	// waiting, flagged, until an agent replies.
	Handoff bool
	// Suggestion is shown to agents beside the message when nothing was
	// sent automatically.
	Suggestion string
	// Note, when not empty, says why the bot did not answer (an event
	// template whose field is missing): agents see it with the message,
	// and the row keeps it in last_error while sent.
	Note string
}

// Bot assesses a relay batch before it is committed. It must return exactly
// one Verdict per Inbound, in order. An error makes the relay go on without
// the bot for that batch; it never fails or delays the rows.
type Bot interface {
	Assess(ctx context.Context, in []Inbound) ([]Verdict, error)
}

// NoBot is the Bot used when the intent bot is off.
type NoBot struct{}

func (NoBot) Assess(_ context.Context, in []Inbound) ([]Verdict, error) {
	return make([]Verdict, len(in)), nil
}
