package chatcore

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/syncd-dev/syncd/chatcore/credentials"
)

// ConversationStore is what the conversation API reads and writes.
type ConversationStore interface {
	// Conversations lists conversations for one agent, most recent first.
	Conversations(ctx context.Context, q ConversationQuery) ([]Conversation, error)
	// Conversation returns one conversation as username sees it, or an
	// error wrapping ErrNotFound.
	Conversation(ctx context.Context, key, username string) (Conversation, error)
	// Messages returns a page of history, ascending by seq.
	Messages(ctx context.Context, q MessageQuery) ([]Message, error)
	// AppendReply writes an agent reply to chat history and to
	// message_reply in one transaction, with the conversation's next seq;
	// an unassigned conversation becomes the author's in that transaction.
	// When the conversation already has a message with r.ClientID it
	// returns that one and Created false. A missing conversation is
	// ErrNotFound.
	AppendReply(ctx context.Context, r Reply) (ReplyResult, error)
	// MarkRead raises username's read marker in key to seq (never lowers
	// it, never past last_seq).
	MarkRead(ctx context.Context, username, key string, seq int64) error
	// Assign sets the assignee; "" releases the conversation.
	Assign(ctx context.Context, key, assignee string, at time.Time) error
	// SetState resolves or reopens a conversation.
	SetState(ctx context.Context, key string, state State, at time.Time) error
}

// Limits of the conversation API.
const (
	defaultListLimit  = 100
	maxListLimit      = 500
	defaultPageLimit  = 50  // latest page, or before_seq
	defaultAfterLimit = 500 // after_seq (catch-up)
	maxPageLimit      = 1000
	maxReplyBytes     = 64 << 10
	maxClientIDLen    = 64
)

// queryInt reads a non-negative integer query parameter; def when absent.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New(name + " must be a non-negative integer")
	}
	return n, nil
}

func (c *Core) handleConversations(w http.ResponseWriter, r *http.Request) {
	me := agentFrom(r.Context()).agent.Username
	q := ConversationQuery{Username: me, Tab: Tab(r.URL.Query().Get("tab"))}
	switch q.Tab {
	case "":
		q.Tab = TabAll
	case TabMine, TabUnassigned, TabAll:
	default:
		writeError(w, http.StatusBadRequest, "tab must be mine, unassigned or all")
		return
	}
	// Default state: open for mine and unassigned, any for all.
	switch st := r.URL.Query().Get("state"); st {
	case "":
		if q.Tab != TabAll {
			q.State = StateOpen
		}
	case string(StateOpen), string(StateResolved):
		q.State = State(st)
	case "any":
	default:
		writeError(w, http.StatusBadRequest, "state must be open, resolved or any")
		return
	}
	limit, err := queryInt(r, "limit", defaultListLimit)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q.Limit = int(min(max(limit, 1), maxListLimit))
	if r.URL.Query().Has("q") {
		c.handleSearch(w, r, q)
		return
	}
	convs, err := c.store.Conversations(r.Context(), q)
	if err != nil {
		c.serverError(w, r, "list conversations", err)
		return
	}
	c.writeConversations(w, convs)
}

// writeConversations answers with a conversation list.
func (c *Core) writeConversations(w http.ResponseWriter, convs []Conversation) {
	if convs == nil {
		convs = []Conversation{}
	}
	now := c.now()
	for i := range convs {
		convs[i] = c.withDue(convs[i], now)
		if convs[i].LastMessage != nil {
			m := wireMessage(*convs[i].LastMessage)
			convs[i].LastMessage = &m
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": convs})
}

// conversation loads the path's conversation for the asking agent, or
// answers 404.
func (c *Core) conversation(w http.ResponseWriter, r *http.Request) (Conversation, bool) {
	key := r.PathValue("key")
	cv, err := c.store.Conversation(r.Context(), key, agentFrom(r.Context()).agent.Username)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such conversation")
		return cv, false
	}
	if err != nil {
		c.serverError(w, r, "load conversation", err)
		return cv, false
	}
	return cv, true
}

func (c *Core) handleMessages(w http.ResponseWriter, r *http.Request) {
	q := MessageQuery{ConversationKey: r.PathValue("key")}
	var err error
	if q.BeforeSeq, err = queryInt(r, "before_seq", 0); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if q.AfterSeq, err = queryInt(r, "after_seq", 0); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	_, hasAfter := r.URL.Query()["after_seq"]
	if q.BeforeSeq > 0 && hasAfter {
		writeError(w, http.StatusBadRequest, "give before_seq or after_seq, not both")
		return
	}
	def := int64(defaultPageLimit)
	if hasAfter {
		def = defaultAfterLimit
	}
	limit, err := queryInt(r, "limit", def)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q.Limit = int(min(max(limit, 1), maxPageLimit))
	q.After = hasAfter
	if _, ok := c.conversation(w, r); !ok {
		return
	}
	msgs, err := c.store.Messages(r.Context(), q)
	if err != nil {
		c.serverError(w, r, "list messages", err)
		return
	}
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		out[i] = wireMessage(m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

type replyRequest struct {
	Body     string `json:"body"`
	ClientID string `json:"client_id"`
	// TakeOver: the agent agreed to take the conversation from the agent
	// holding it. Without it such a reply is refused with 409.
	TakeOver bool `json:"take_over"`
}

func (c *Core) handleReply(w http.ResponseWriter, r *http.Request) {
	var req replyRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	switch {
	case strings.TrimSpace(req.Body) == "":
		writeError(w, http.StatusBadRequest, "body is empty")
		return
	case len(req.Body) > maxReplyBytes || !utf8.ValidString(req.Body):
		writeError(w, http.StatusBadRequest, "body must be valid UTF-8 of at most 64 KiB")
		return
	case !validClientID(req.ClientID):
		writeError(w, http.StatusBadRequest, "client_id must be 1 to 64 printable ASCII characters")
		return
	}
	me := agentFrom(r.Context()).agent.Username
	res, err := c.store.AppendReply(r.Context(), Reply{
		ConversationKey: r.PathValue("key"), Author: me, Body: req.Body,
		ClientID: req.ClientID, TakeOver: req.TakeOver, At: time.Now().UTC(),
	})
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such conversation")
		return
	}
	if held, ok := asHeld(err); ok {
		writeHeld(w, held)
		return
	}
	if err != nil {
		c.serverError(w, r, "append reply", err)
		return
	}
	if res.Created {
		// The sweep pushes the conversation frame (last_seq, waiting_since).
		msgs := []Message{res.Message}
		if res.Event != nil {
			msgs = []Message{*res.Event, res.Message}
		}
		if err := c.publishMessages(r.Context(), msgs); err != nil {
			c.log.LogAttrs(r.Context(), slog.LevelWarn, "publish reply", slog.Any("error", err))
		}
	}
	out := map[string]any{"message": wireMessage(res.Message), "took": res.Took}
	if res.Took {
		// Taken by replying: every agent sees it leave Unassigned now,
		// not at the next sweep, and the console tells the author.
		if cv, err := c.store.Conversation(r.Context(), res.Message.ConversationKey, me); err == nil {
			c.announce(r.Context(), cv, "")
			out["conversation"] = c.withDue(cv, c.now())
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func validClientID(s string) bool {
	if s == "" || len(s) > maxClientIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (c *Core) handleRead(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seq *int64 `json:"seq"`
	}
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Seq == nil || *req.Seq < 0 {
		writeError(w, http.StatusBadRequest, "seq must be a non-negative integer")
		return
	}
	me := agentFrom(r.Context()).agent.Username
	key := r.PathValue("key")
	if err := c.store.MarkRead(r.Context(), me, key, *req.Seq); err != nil {
		if errors.Is(err, ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such conversation")
			return
		}
		c.serverError(w, r, "mark read", err)
		return
	}
	if cv, err := c.store.Conversation(r.Context(), key, me); err == nil {
		c.announce(r.Context(), cv, me) // the agent's other tabs
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *Core) handleAssign(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Assignee json.RawMessage `json:"assignee"`
		// TakeOver lets the asking agent change a conversation another
		// agent holds (take it over, release or hand it on).
		TakeOver bool `json:"take_over"`
	}
	me := agentFrom(r.Context()).agent.Username
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var assignee string
	switch {
	case len(req.Assignee) == 0:
		writeError(w, http.StatusBadRequest, `assignee is missing: give a username, or null to release`)
		return
	case string(req.Assignee) == "null":
	default:
		if err := json.Unmarshal(req.Assignee, &assignee); err != nil || assignee == "" {
			writeError(w, http.StatusBadRequest, "assignee must be a username or null")
			return
		}
		assignee = credentials.NormalizeUsername(assignee)
		a, err := c.store.Agent(r.Context(), assignee)
		if errors.Is(err, ErrNotFound) || err == nil && a.Disabled {
			writeError(w, http.StatusBadRequest, "no such agent: "+assignee)
			return
		}
		if err != nil {
			c.serverError(w, r, "load assignee", err)
			return
		}
		assignee = a.Username // as stored, not as typed
	}
	res, err := c.store.Reassign(r.Context(), AssignChange{Key: r.PathValue("key"), By: me,
		To: assignee, TakeOver: req.TakeOver, At: time.Now().UTC()})
	if held, ok := asHeld(err); ok {
		writeHeld(w, held)
		return
	}
	if res.Event != nil {
		if err := c.publishMessages(r.Context(), []Message{*res.Event}); err != nil {
			c.log.LogAttrs(r.Context(), slog.LevelWarn, "publish assignment event", slog.Any("error", err))
		}
	}
	c.mutate(w, r, "assign", func(context.Context, string) error { return err })
}

// writeHeld answers 409 with the agent who holds the conversation, for
// the console to ask its agent whether to take it over.
func writeHeld(w http.ResponseWriter, held *HeldError) {
	var holder any
	if held.Assignee != "" {
		holder = held.Assignee
	}
	writeJSON(w, http.StatusConflict, map[string]any{
		"error":    held.Error() + "; send take_over: true to take it over",
		"assignee": holder,
	})
}

func (c *Core) handleState(st State) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c.mutate(w, r, "set state "+string(st), func(ctx context.Context, key string) error {
			return c.store.SetState(ctx, key, st, time.Now().UTC())
		})
	}
}

// mutate runs a change of the path's conversation, answers with the
// conversation as it is now, and tells every agent about it.
func (c *Core) mutate(w http.ResponseWriter, r *http.Request, action string, fn func(context.Context, string) error) {
	key := r.PathValue("key")
	if err := fn(r.Context(), key); err != nil {
		if errors.Is(err, ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such conversation")
			return
		}
		c.serverError(w, r, action, err)
		return
	}
	cv, ok := c.conversation(w, r)
	if !ok {
		return
	}
	if cv.LastMessage != nil {
		m := wireMessage(*cv.LastMessage)
		cv.LastMessage = &m
	}
	c.announce(r.Context(), cv, "")
	if cv.Assignee == "" && cv.State == StateOpen {
		c.kickAssign() // released or reopened: auto-assignment may place it
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversation": c.withDue(cv, c.now())})
}
