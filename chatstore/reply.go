package chatstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chat/history"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/internal/dialect"
)

// errReplyExists ends a reply transaction that found its client_id already
// written; the transaction rolls back and the existing message is returned.
var errReplyExists = errors.New("reply exists")

// AppendReply writes an agent reply in one transaction:
//
//  1. The reply's seq (history.AgentSeq): UPDATE conversations, last_seq
//     + 1, waiting_since NULL, answered_by 'agent', wants_agent off (a
//     person has answered), last_message_at and updated_at, under the row
//     lock the relay's upsert also takes, so the two never hand out the
//     same seq; then SELECT last_seq.
//  2. (part of 1)
//  3. Look for the client_id: a retry (or a concurrent duplicate, committed
//     while we waited for the lock) returns the first message instead.
//  4. UPDATE conversations: assignee = the author where it is unassigned
//     (replying takes the conversation; one assigned to someone else
//     stays theirs).
//  5. INSERT chat_messages (sender_type 'agent', client_id) and
//  6. INSERT message_reply ('pending', in_reply_to = the latest customer
//     message's message_sync id, chat_message_id): history.AppendAgentReply.
//  7. Raise the author's read marker to the reply.
//
// A deadlock or lock wait timeout runs the transaction again, twice at most
// (dialect.RetryDeadlocks, as for the relay's commit).
func (s *DB) AppendReply(ctx context.Context, r chatcore.Reply) (chatcore.ReplyResult, error) {
	var res chatcore.ReplyResult
	err := dialect.RetryDeadlocks(func() (err error) {
		res, err = s.appendReply(ctx, r)
		return err
	})
	return res, err
}

func (s *DB) appendReply(ctx context.Context, r chatcore.Reply) (chatcore.ReplyResult, error) {
	var msg chatcore.Message
	var took bool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		hist := history.New(s.d)
		ref, err := s.lookup(tx, r.ConversationKey)
		if err != nil {
			return err
		}
		seq, err := hist.AgentSeq(tx, ref.id, r.At)
		if err != nil {
			return err
		}
		if m, err := s.messageByClientID(tx, r.ConversationKey, r.ClientID); err != nil {
			return err
		} else if m != nil {
			msg = *m
			return errReplyExists
		}
		if took, err = hist.TakeUnassigned(tx, ref.id, r.Author, r.At); err != nil {
			return err
		}
		var inReplyTo sql.NullInt64
		err = tx.Raw(`SELECT source_id FROM chat_messages
 WHERE conversation_key = ? AND sender_type = 'customer' AND source_id IS NOT NULL
 ORDER BY seq DESC LIMIT 1`, r.ConversationKey).Row().Scan(&inReplyTo)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("find message replied to: %w", err)
		}
		id, err := hist.AppendAgentReply(tx, history.AgentReply{
			ConversationKey: r.ConversationKey, Seq: seq, Author: r.Author, Body: r.Body,
			ClientID: r.ClientID, InReplyTo: inReplyTo.Int64, At: r.At,
		})
		if err != nil {
			return err
		}
		if err := s.raiseReadMarker(tx, r.Author, r.ConversationKey, seq, r.At); err != nil {
			return fmt.Errorf("raise read marker: %w", err)
		}
		msg = chatcore.Message{ClientID: r.ClientID, Message: chat.Message{
			ID: id, ConversationKey: r.ConversationKey, Seq: seq,
			SenderType: chat.SenderAgent, SenderName: r.Author, Kind: chat.KindMessage,
			Body: r.Body, CreatedAt: r.At.UTC().Truncate(time.Microsecond), // as DATETIME(6) keeps it
		}}
		return nil
	})
	switch {
	case err == nil:
		return chatcore.ReplyResult{Message: msg, Created: true, Took: took}, nil
	case errors.Is(err, errReplyExists):
		return chatcore.ReplyResult{Message: msg}, nil
	case dialect.IsDuplicate(err):
		// A concurrent request with the same client_id won the race after
		// our check; its row is committed now.
		m, err2 := s.messageByClientID(s.db.WithContext(ctx), r.ConversationKey, r.ClientID)
		if err2 != nil || m == nil {
			return chatcore.ReplyResult{}, fmt.Errorf("append reply to %s: %w", r.ConversationKey, err)
		}
		return chatcore.ReplyResult{Message: *m}, nil
	case errors.Is(err, chatcore.ErrNotFound):
		return chatcore.ReplyResult{}, err
	default:
		return chatcore.ReplyResult{}, fmt.Errorf("append reply to %s: %w", r.ConversationKey, err)
	}
}

// messageByClientID returns the conversation's message with that client_id,
// or nil.
func (s *DB) messageByClientID(db *gorm.DB, key, clientID string) (*chatcore.Message, error) {
	rows, err := db.Raw(`SELECT `+messageCols+` FROM chat_messages m WHERE m.conversation_key = ? AND m.client_id = ?`, key, clientID).Rows()
	if err != nil {
		return nil, fmt.Errorf("find reply by client_id: %w", err)
	}
	msgs, err := s.scanMessages(rows)
	if err != nil {
		return nil, err
	}
	for i := range msgs {
		if msgs[i].ConversationKey == key {
			return &msgs[i], nil
		}
	}
	return nil, nil
}
