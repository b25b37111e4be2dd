package chatcore

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/syncd-dev/syncd/chat"
)

// Errors a DB returns, wrapped or not.
var (
	// ErrNotFound means the agent or conversation does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means an agent with that username exists already.
	ErrExists = errors.New("already exists")
	// ErrLastAdmin means the change would leave the console without an
	// enabled admin.
	ErrLastAdmin = errors.New("the console would be left without an admin")
)

// DB is everything the console needs from the database. Each part is
// declared beside the code that uses it; chatstore.DB implements all.
type DB interface {
	AgentStore
	ConversationStore
	SearchStore
	OwnerStore
	AgentAdminStore
	SweepStore
	LabelStore
	AssignStore
	SLAStore
	NoteStore
	CannedStore
}

// Message is a chat message as the console sees it: chat.Message, plus
// the client_id an agent reply was sent with (so that the console that sent
// it recognises its own reply when it comes back over the WebSocket).
type Message struct {
	chat.Message
	ClientID string `json:"client_id,omitempty"`
	// Truncated: the body is cut short and the payload left out (a
	// conversation's preview of its last message, or a message frame too
	// large for a socket's send queue); GET …/messages has all of it.
	Truncated bool `json:"truncated,omitempty"`
}

// Agent is a console user.
type Agent struct {
	Username     string
	PasswordHash string // bcrypt
	Disabled     bool
	// SessionVersion is part of every session cookie; raising it (password
	// change, disable) ends the agent's sessions.
	SessionVersion int64
	// Admin agents see the bot's retrain figures (`syncd agent admin`).
	Admin bool
	// Away: the agent paused auto-assignment for herself (the console's
	// toggle, POST /api/me/away).
	Away      bool
	CreatedAt time.Time
}

// State is a conversation's state.
type State string

const (
	StateOpen     State = "open"
	StateResolved State = "resolved"
)

// Conversation is one conversation as an agent sees it. ReadSeq and Unread
// belong to one agent; the rest is the same for everybody.
type Conversation struct {
	ID            int64 // conversations.id; orders the sweep, not sent
	Key           string
	State         State
	Assignee      string // "" when unassigned
	LastSeq       int64
	ReadSeq       int64
	Unread        int64
	LastMessage   *Message  // nil when the conversation has none
	LastMessageAt time.Time // zero when unknown
	WaitingSince  time.Time // zero when no customer message waits
	// AnsweredBy is who last replied after the customer's last message:
	// chat.SenderBot or chat.SenderAgent, "" while nobody has. A bot reply
	// leaves the conversation waiting unless its answer resolves.
	AnsweredBy chat.SenderType
	// WantsAgent: the customer asked for a person (a hand-off intent);
	// the conversation waits until an agent replies or resolves it.
	WantsAgent bool
	UpdatedAt  time.Time // moves with every change; the sweep's cursor
	// AssignedAt is when the assignee got it; zero when unassigned or
	// assigned before sql 0012.
	AssignedAt time.Time
	// AgentRepliedAt is the first agent reply since it was (re)opened;
	// zero while none has: the first-response target applies.
	AgentRepliedAt time.Time
	// DueAt is when the customer's wait breaks its response-time target
	// (console.sla), DueTarget which target ("first_response", "reply"),
	// Breached whether it had when the conversation was sent. Zero when
	// nobody waits or the target is off. Set by the Core, not the store.
	DueAt     time.Time
	DueTarget string
	Breached  bool
}

// ForAgent returns c as the agent whose read marker is readSeq sees it.
func (c Conversation) ForAgent(readSeq int64) Conversation {
	c.ReadSeq = readSeq
	c.Unread = max(c.LastSeq-readSeq, 0)
	return c
}

// conversationWire is a Conversation as docs/protocol.md writes it.
type conversationWire struct {
	Key           string     `json:"conversation_key"`
	State         State      `json:"state"`
	Assignee      *string    `json:"assignee"`
	LastSeq       int64      `json:"last_seq"`
	ReadSeq       int64      `json:"read_seq"`
	Unread        int64      `json:"unread"`
	LastMessage   *Message   `json:"last_message"`
	LastMessageAt *time.Time `json:"last_message_at"`
	WaitingSince  *time.Time `json:"waiting_since"`
	AnsweredBy    *string    `json:"answered_by"`
	WantsAgent    bool       `json:"wants_agent"`
	AssignedAt    *time.Time `json:"assigned_at"`
	AgentReplied  *time.Time `json:"agent_replied_at"`
	DueAt         *time.Time `json:"due_at"`
	DueTarget     string     `json:"due_target,omitempty"`
	Breached      bool       `json:"breached"`
}

// timePtr is t in UTC, nil when zero.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func timeOf(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}

// MarshalJSON writes the Conversation of docs/protocol.md, with nulls for
// the unset assignee and times.
func (c Conversation) MarshalJSON() ([]byte, error) {
	w := conversationWire{Key: c.Key, State: c.State, LastSeq: c.LastSeq, ReadSeq: c.ReadSeq,
		Unread: c.Unread, LastMessage: c.LastMessage, WantsAgent: c.WantsAgent,
		AssignedAt: timePtr(c.AssignedAt), AgentReplied: timePtr(c.AgentRepliedAt), DueAt: timePtr(c.DueAt), DueTarget: c.DueTarget, Breached: c.Breached}
	if c.Assignee != "" {
		w.Assignee = &c.Assignee
	}
	if c.AnsweredBy != "" {
		a := string(c.AnsweredBy)
		w.AnsweredBy = &a
	}
	if !c.LastMessageAt.IsZero() {
		t := c.LastMessageAt.UTC()
		w.LastMessageAt = &t
	}
	if !c.WaitingSince.IsZero() {
		t := c.WaitingSince.UTC()
		w.WaitingSince = &t
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes; the broker carries
// conversations between instances in this form.
func (c *Conversation) UnmarshalJSON(b []byte) error {
	var w conversationWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Conversation{Key: w.Key, State: w.State, LastSeq: w.LastSeq, ReadSeq: w.ReadSeq,
		Unread: w.Unread, LastMessage: w.LastMessage, WantsAgent: w.WantsAgent,
		AssignedAt: timeOf(w.AssignedAt), AgentRepliedAt: timeOf(w.AgentReplied), DueAt: timeOf(w.DueAt), DueTarget: w.DueTarget, Breached: w.Breached}
	if w.Assignee != nil {
		c.Assignee = *w.Assignee
	}
	if w.AnsweredBy != nil {
		c.AnsweredBy = chat.SenderType(*w.AnsweredBy)
	}
	if w.LastMessageAt != nil {
		c.LastMessageAt = *w.LastMessageAt
	}
	if w.WaitingSince != nil {
		c.WaitingSince = *w.WaitingSince
	}
	return nil
}

// Tab selects the conversation list.
type Tab string

const (
	TabMine       Tab = "mine"       // assigned to the asking agent
	TabUnassigned Tab = "unassigned" // nobody's
	TabAll        Tab = "all"
)

// ConversationQuery selects conversations for one agent.
type ConversationQuery struct {
	Username string // the asking agent: read markers, and the mine tab
	Tab      Tab
	State    State // "" for any state
	Limit    int
}

// MessageQuery selects a page of one conversation's history, ascending by
// seq: with After, the first Limit messages after AfterSeq (catch-up);
// otherwise with BeforeSeq > 0 the last Limit messages before it; otherwise
// the latest Limit messages.
type MessageQuery struct {
	ConversationKey string
	After           bool
	AfterSeq        int64
	BeforeSeq       int64
	Limit           int
}

// Reply is an agent's answer to write.
type Reply struct {
	ConversationKey string
	Author          string // agent username
	Body            string
	ClientID        string // the console's id, unique per conversation
	// TakeOver lets the reply take a conversation another agent holds;
	// without it such a reply is refused with a *HeldError.
	TakeOver bool
	At       time.Time
}

// ReplyResult is what AppendReply did.
type ReplyResult struct {
	Message Message
	Created bool // false: the conversation had r.ClientID already, and Message is that reply
	Took    bool // the conversation was unassigned (or, with TakeOver, another's) and is the author's now
	// Event is the assignment event written before the reply when it took
	// the conversation.
	Event *Message
}

// ReadKey names one read marker.
type ReadKey struct {
	Username        string
	ConversationKey string
}

// SweepCursor is where the sweep goes on from: conversations updated after
// (UpdatedAt, ID), in that order.
type SweepCursor struct {
	UpdatedAt time.Time
	ID        int64
}
