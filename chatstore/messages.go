package chatstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/syncd-dev/syncd/chatcore"
)

// Messages returns a page of one conversation's history, ascending by seq.
func (s *DB) Messages(ctx context.Context, q chatcore.MessageQuery) ([]chatcore.Message, error) {
	base := `SELECT ` + messageCols + ` FROM chat_messages m WHERE m.conversation_key = ?`
	var query string
	args := []any{q.ConversationKey}
	desc := true
	switch {
	case q.After:
		query = base + ` AND m.seq > ? ORDER BY m.seq ASC LIMIT ?`
		args = append(args, q.AfterSeq, q.Limit)
		desc = false
	case q.BeforeSeq > 0:
		query = base + ` AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`
		args = append(args, q.BeforeSeq, q.Limit)
	default:
		query = base + ` ORDER BY m.seq DESC LIMIT ?`
		args = append(args, q.Limit)
	}
	rows, err := s.db.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("list messages of %s: %w", q.ConversationKey, err)
	}
	msgs, err := s.scanMessages(rows)
	if err != nil {
		return nil, err
	}
	// Only this key's, byte for byte, whatever the collation found.
	msgs = slices.DeleteFunc(msgs, func(m chatcore.Message) bool { return m.ConversationKey != q.ConversationKey })
	if desc {
		slices.Reverse(msgs)
	}
	return msgs, nil
}
