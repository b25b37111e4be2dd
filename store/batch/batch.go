// Package batch holds the relay's types for one claimed batch: the rows
// a claim read and the outcome written back. They live apart from the
// store so that the packages that only handle batches (the converter, and
// through it the console and the bot) link no database code.
package batch

import (
	"time"

	"github.com/syncd-dev/syncd/chat"
)

// Row is a claimed message_sync row, read within the store's RowLimits: a
// body or payload over its limit is not read (Body is "", Payload nil),
// only its size is, and neither is a key, sender name or kind too long to
// be valid (TooLong names it).
type Row struct {
	ID              int64
	ConversationKey string
	Body            string
	SenderName      string
	Kind            string
	Payload         *string // nil when NULL or not read
	BodyBytes       int     // the stored body's size, read or not
	PayloadBytes    int     // the stored payload's size, 0 when NULL
	// TooLong names the first of conversation_key, sender_name and kind
	// whose value is longer than its column holds on MySQL (SQLite holds
	// any length); that value was not read.
	TooLong string
	// TrailingSpaceIgnored: the key ends in a space and the database
	// compares it equal to the key without (a PAD SPACE collation, the only
	// binary one MySQL 5.7 has), so the two would be one conversation.
	TrailingSpaceIgnored bool
	// Suspect: the row's last claim was abandoned (TakeBack) or it was
	// left processing with no claim (ReturnOrphans), so its relayer may
	// have died of it. The poller relays a suspect on a claim of its own,
	// which is the only kind of abandoned claim that counts an attempt.
	Suspect   bool
	Attempts  int
	CreatedAt time.Time
}

// Widths of the short columns in characters, as on MySQL.
const (
	MaxKeyChars    = 191
	MaxSenderChars = 191
	MaxKindChars   = 64
)

// Outcome is what the relay decided for every row of a claim.
type Outcome struct {
	Relayed []Relayed // status sent, message added to history
	Failed  []Failed  // status failed for good
	Retry   []Retry   // back to pending after a delay, one attempt counted
	Release []int64   // back to pending untouched: held behind a retry
}

// IDs lists the rows an outcome writes back.
func (o Outcome) IDs() []int64 {
	ids := make([]int64, 0, len(o.Relayed)+len(o.Failed)+len(o.Retry)+len(o.Release))
	for _, r := range o.Relayed {
		ids = append(ids, r.Message.SourceID)
	}
	for _, f := range o.Failed {
		ids = append(ids, f.ID)
	}
	for _, r := range o.Retry {
		ids = append(ids, r.ID)
	}
	return append(ids, o.Release...)
}

// Relayed is a row turned into a chat message.
type Relayed struct {
	// Message has SourceID, ConversationKey and content set; ID and Seq are
	// filled by Commit. A Note is also kept in the row's last_error.
	Message chat.Message
	// AutoReply, when not empty, is the bot's answer: written as a bot
	// message and a message_reply row in the same transaction.
	AutoReply string
	// Resolves says that the AutoReply settles the customer's message
	// (a greeting, thanks): the conversation stops waiting. Otherwise a
	// bot reply answers the customer but leaves the conversation on the
	// agents' queue, marked answered_by 'bot'.
	Resolves bool
	// Handoff says the customer asked for a person: the conversation
	// keeps waiting and gets wants_agent until an agent replies.
	Handoff bool
}

// Failed is a row that can never be relayed.
type Failed struct {
	ID     int64
	Reason string
}

// Retry is a row to try again at At.
type Retry struct {
	ID     int64
	At     time.Time
	Reason string
}
