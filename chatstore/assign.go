package chatstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat/history"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/internal/dialect"
)

// Reassign changes a conversation's assignee and writes the assignment
// event of a hand-over, in one transaction (history.Writer.Reassign and AppendEvent):
// read the assignee; refuse one held by another agent unless TakeOver;
// UPDATE … WHERE the assignee is still the one read (a concurrent change
// makes it match nothing, and the caller is told who holds it now); then
// the event with the next seq, under the row lock the UPDATE took.
func (s *DB) Reassign(ctx context.Context, ch chatcore.AssignChange) (chatcore.AssignResult, error) {
	var res chatcore.AssignResult
	err := dialect.RetryDeadlocks(func() error {
		res = chatcore.AssignResult{}
		return s.tx(ctx, func(tx *gorm.DB) error {
			ref, err := s.lookup(tx, ch.Key)
			if err != nil {
				return err
			}
			from, err := takeFrom(tx, ref.id, ch.By, ch.To, ch.TakeOver)
			if err != nil || from == ch.To {
				res.From = from
				return err
			}
			changed, ev, err := s.reassign(tx, ref.id, ch.Key, ch.By, from, ch.To, ch.At)
			if err != nil {
				return err
			}
			res = chatcore.AssignResult{From: from, Changed: changed, Event: ev}
			return nil
		})
	})
	if err != nil {
		if isHeld(err) || errors.Is(err, chatcore.ErrNotFound) {
			return chatcore.AssignResult{}, err
		}
		return chatcore.AssignResult{}, fmt.Errorf("reassign %s: %w", ch.Key, err)
	}
	return res, nil
}

// assignee reads who holds conversation id ("" for nobody).
func assignee(tx *gorm.DB, id int64) (string, error) {
	var a sql.NullString
	if err := tx.Raw(`SELECT assignee FROM conversations WHERE id = ?`, id).Row().Scan(&a); err != nil {
		return "", fmt.Errorf("read assignee: %w", err)
	}
	return a.String, nil
}

// takeFrom reads the assignee and says whether by may give the
// conversation to "to": it returns the current assignee, or a *HeldError
// when another agent holds it and by may not take it over.
func takeFrom(tx *gorm.DB, id int64, by, to string, takeOver bool) (string, error) {
	from, err := assignee(tx, id)
	if err != nil {
		return "", err
	}
	if from != "" && from != by && from != to && !takeOver {
		return from, &chatcore.HeldError{Assignee: from}
	}
	return from, nil
}

// reassign moves the conversation from → to if from still holds it, and
// writes the event of a hand-over (release, hand to, take over; not an
// agent taking an unassigned conversation). It reports whether it changed
// the assignee. A concurrent change to another holder is a *HeldError
// naming the holder now (READ COMMITTED: the row as committed after the
// UPDATE's wait); one to the same holder (two replies of one agent)
// leaves nothing to do.
func (s *DB) reassign(tx *gorm.DB, id int64, key, by, from, to string, at time.Time) (bool, *chatcore.Message, error) {
	hist := history.New(s.d)
	ok, err := hist.Reassign(tx, id, from, to, at)
	if err != nil {
		return false, nil, err
	}
	if !ok {
		now, err := assignee(tx, id)
		if err != nil {
			return false, nil, err
		}
		if now == to {
			return false, nil, nil
		}
		return false, nil, &chatcore.HeldError{Assignee: now}
	}
	if from == "" && to == by {
		// Taking what nobody held hands nothing over: no event, so that
		// the usual first reply keeps the seq after the customer's.
		return true, nil, nil
	}
	ev, err := hist.AppendEvent(tx, id, history.AssignmentEvent(key, by, from, to, at))
	if err != nil {
		return false, nil, err
	}
	return true, &chatcore.Message{Message: ev}, nil
}

func isHeld(err error) bool {
	var h *chatcore.HeldError
	return errors.As(err, &h)
}
