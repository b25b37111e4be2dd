package chatcore

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// OwnerStore changes who holds a conversation (take, release, hand to),
// recording each hand-over as an assignment event in its history.
type OwnerStore interface {
	// Reassign gives the conversation to ch.To ("" releases it) on behalf
	// of ch.By. One held by an agent other than ch.By is changed only with
	// ch.TakeOver; otherwise it returns a *HeldError naming the holder. A
	// conversation already ch.To's is left alone (Changed false). A
	// missing conversation is ErrNotFound.
	Reassign(ctx context.Context, ch AssignChange) (AssignResult, error)
}

// AssignChange is a change of assignee asked for by an agent.
type AssignChange struct {
	Key      string
	By       string // the agent asking
	To       string // the new assignee; "" releases
	TakeOver bool   // By may change a conversation another agent holds
	At       time.Time
}

// AssignResult is what Reassign did.
type AssignResult struct {
	From    string // the assignee before; "" for none
	Changed bool   // false: To held it already
	// Event is the assignment event written: for every change but an
	// agent taking an unassigned conversation, which hands nothing over.
	Event *Message
}

// HeldError means another agent holds the conversation, and the request
// did not say it may take it over (take_over). The API answers 409 with
// the holder so that the console can ask its agent first.
type HeldError struct{ Assignee string }

func (e *HeldError) Error() string {
	if e.Assignee == "" {
		return "the conversation's assignee changed meanwhile"
	}
	return fmt.Sprintf("%s holds this conversation", e.Assignee)
}

// asHeld returns err's *HeldError, if it is one.
func asHeld(err error) (*HeldError, bool) {
	var h *HeldError
	ok := errors.As(err, &h)
	return h, ok
}
