package chatstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chat/history"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/internal/dialect"
)

// AppendNote writes an agent's private note in one transaction, as
// AppendReply writes a reply but with neither its side effects on the
// conversation (waiting state, assignee) nor its message_reply row:
//
//  1. The note's seq (history.NoteSeq): UPDATE conversations, last_seq + 1
//     and updated_at (the sweep's cursor, so every console hears of it),
//     under the row lock replies and the relay take.
//  2. Look for the client_id: a retry returns the first note instead.
//  3. INSERT chat_messages (sender_type 'agent', kind 'note'):
//     history.AppendNote.
//  4. Raise the author's read marker to the note.
//
// Deadlocks are retried as for replies (dialect.RetryDeadlocks).
func (s *DB) AppendNote(ctx context.Context, n chatcore.Reply) (chatcore.ReplyResult, error) {
	var res chatcore.ReplyResult
	err := dialect.RetryDeadlocks(func() (err error) {
		res, err = s.appendNote(ctx, n)
		return err
	})
	return res, err
}

func (s *DB) appendNote(ctx context.Context, n chatcore.Reply) (chatcore.ReplyResult, error) {
	var msg chatcore.Message
	err := s.tx(ctx, func(tx *gorm.DB) error {
		hist := history.New(s.d)
		ref, err := s.lookup(tx, n.ConversationKey)
		if err != nil {
			return err
		}
		seq, err := hist.NoteSeq(tx, ref.id, n.At)
		if err != nil {
			return err
		}
		if m, err := s.messageByClientID(tx, n.ConversationKey, n.ClientID); err != nil {
			return err
		} else if m != nil {
			msg = *m
			return errReplyExists
		}
		id, err := hist.AppendNote(tx, history.AgentNote{
			ConversationKey: n.ConversationKey, Seq: seq, Author: n.Author, Body: n.Body, ClientID: n.ClientID, At: n.At,
		})
		if err != nil {
			return err
		}
		if err := s.raiseReadMarker(tx, n.Author, n.ConversationKey, seq, n.At); err != nil {
			return fmt.Errorf("raise read marker: %w", err)
		}
		msg = chatcore.Message{ClientID: n.ClientID, Message: chat.Message{
			ID: id, ConversationKey: n.ConversationKey, Seq: seq,
			SenderType: chat.SenderAgent, SenderName: n.Author, Kind: chat.KindNote,
			Body: n.Body, CreatedAt: n.At.UTC().Truncate(time.Microsecond),
		}}
		return nil
	})
	switch {
	case err == nil:
		return chatcore.ReplyResult{Message: msg, Created: true}, nil
	case errors.Is(err, errReplyExists):
		return chatcore.ReplyResult{Message: msg}, nil
	case dialect.IsDuplicate(err):
		m, err2 := s.messageByClientID(s.db.WithContext(ctx), n.ConversationKey, n.ClientID)
		if err2 != nil || m == nil {
			return chatcore.ReplyResult{}, fmt.Errorf("append note to %s: %w", n.ConversationKey, err)
		}
		return chatcore.ReplyResult{Message: *m}, nil
	case errors.Is(err, chatcore.ErrNotFound):
		return chatcore.ReplyResult{}, err
	default:
		return chatcore.ReplyResult{}, fmt.Errorf("append note to %s: %w", n.ConversationKey, err)
	}
}
