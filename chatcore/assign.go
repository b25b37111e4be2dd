package chatcore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// AssignStore is what auto-assignment and the away toggle read and write.
type AssignStore interface {
	// QueuedConversations returns up to limit open, unassigned
	// conversations in which a customer waits, longest wait first (ID and
	// Key set).
	QueuedConversations(ctx context.Context, limit int) ([]Conversation, error)
	// AutoAssign gives conversation convID, if it is still unassigned, to
	// the candidate (not away, not disabled) with the fewest open
	// conversations, below capacity; the choice and the write are one
	// transaction that locks the candidates' agent rows, so that instances
	// assigning at once neither give one conversation twice nor overload
	// an agent.
	AutoAssign(ctx context.Context, convID int64, candidates []string, capacity int, at time.Time) (AutoAssignResult, error)
	// SetAway sets whether an agent is away (no auto-assignment).
	SetAway(ctx context.Context, username string, away bool) error
}

// AutoAssignResult is what AutoAssign did.
type AutoAssignResult struct {
	Assignee string // "" when it assigned nothing
	// Full: no candidate had room; later conversations need not be tried.
	Full bool
}

// Assignment configures auto-assignment (console.assignment).
type Assignment struct {
	// Enabled turns it on: a conversation in which a customer waits and
	// nobody holds goes to an online agent who is not away.
	Enabled bool
	// Capacity is the most open conversations an agent is given; one who
	// holds as many gets none. Default 10.
	Capacity int
}

// assignBatch is the most queued conversations one pass assigns.
const assignBatch = 100

// assignQueued gives queued conversations to online agents, until none
// is queued or every candidate is full, and shows each change.
func (c *Core) assignQueued(ctx context.Context) error {
	if !c.o.Assignment.Enabled {
		return nil
	}
	online, err := c.Online(ctx)
	if err != nil {
		return fmt.Errorf("auto-assign: who is online: %w", err)
	}
	if len(online) == 0 {
		return nil
	}
	queued, err := c.store.QueuedConversations(ctx, assignBatch)
	if err != nil {
		return fmt.Errorf("auto-assign: %w", err)
	}
	for _, cv := range queued {
		res, err := c.store.AutoAssign(ctx, cv.ID, online, c.o.Assignment.Capacity, c.now())
		if err != nil {
			return fmt.Errorf("auto-assign %s: %w", cv.Key, err)
		}
		if res.Full {
			return nil
		}
		if res.Assignee == "" {
			continue // another instance, or an agent, was first
		}
		c.assigned.Add(1)
		c.log.LogAttrs(ctx, slog.LevelDebug, "auto-assigned", slog.String("conversation_key", cv.Key), slog.String("assignee", res.Assignee))
		c.announceKey(ctx, cv.Key)
	}
	return nil
}

// announceKey announces a conversation as the database has it now.
func (c *Core) announceKey(ctx context.Context, key string) {
	got, err := c.store.ConversationsByKey(ctx, []string{key})
	if err != nil || len(got) == 0 {
		return // the sweep shows it
	}
	c.announce(ctx, got[0], "")
}

// kickAssign asks the worker for a pass now (a conversation was queued)
// rather than at its next tick.
func (c *Core) kickAssign() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *Core) handleAway(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Away *bool `json:"away"`
	}
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Away == nil {
		writeError(w, http.StatusBadRequest, "away must be true or false")
		return
	}
	me := agentFrom(r.Context()).agent.Username
	if err := c.store.SetAway(r.Context(), me, *req.Away); err != nil {
		if errors.Is(err, ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such agent")
			return
		}
		c.serverError(w, r, "set away", err)
		return
	}
	if !*req.Away {
		c.kickAssign() // back: she may take what waits
	}
	writeJSON(w, http.StatusOK, map[string]any{"away": *req.Away})
}
