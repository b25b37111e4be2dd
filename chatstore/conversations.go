package chatstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chatcore"
)

// Conversations lists conversations for one agent, most recent message
// first.
func (s *Store) Conversations(ctx context.Context, q chatcore.ConversationQuery) ([]chatcore.Conversation, error) {
	cols, from := conversationFrom(true)
	args := []any{q.Username}
	var where []string
	switch q.Tab {
	case chatcore.TabMine:
		where = append(where, "c.assignee = ?")
		args = append(args, q.Username)
	case chatcore.TabUnassigned:
		where = append(where, "(c.assignee IS NULL OR c.assignee = '')")
	}
	if q.State != "" {
		where = append(where, "c.state = ?")
		args = append(args, string(q.State))
	}
	query := "SELECT " + cols + "\n" + from
	if len(where) > 0 {
		query += "\nWHERE " + strings.Join(where, " AND ")
	}
	query += "\nORDER BY c.last_message_at DESC, c.id DESC LIMIT ?"
	args = append(args, q.Limit)
	rows, err := s.db.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return s.scanConversations(rows)
}

// Conversation returns one conversation as username sees it.
func (s *Store) Conversation(ctx context.Context, key, username string) (chatcore.Conversation, error) {
	cols, from := conversationFrom(true)
	rows, err := s.db.WithContext(ctx).Raw("SELECT "+cols+"\n"+from+"\nWHERE c.conversation_key = ?", username, key).Rows()
	if err != nil {
		return chatcore.Conversation{}, fmt.Errorf("load conversation %s: %w", key, err)
	}
	cs, err := s.scanConversations(rows)
	if err != nil {
		return chatcore.Conversation{}, err
	}
	if len(cs) == 0 {
		return chatcore.Conversation{}, fmt.Errorf("conversation %s: %w", key, chatcore.ErrNotFound)
	}
	return cs[0], nil
}

// MarkRead raises username's read marker in key to seq, capped at the
// conversation's last_seq; it never lowers it.
func (s *Store) MarkRead(ctx context.Context, username, key string, seq int64) error {
	var last int64
	err := s.db.WithContext(ctx).Raw(`SELECT last_seq FROM conversations WHERE conversation_key = ?`, key).Row().Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("conversation %s: %w", key, chatcore.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("mark read %s: %w", key, err)
	}
	if err := s.raiseReadMarker(s.db.WithContext(ctx), username, key, min(seq, last), time.Now()); err != nil {
		return fmt.Errorf("mark read %s: %w", key, err)
	}
	return nil
}

// raiseReadMarker upserts a read marker, keeping the higher seq.
func (s *Store) raiseReadMarker(db *gorm.DB, username, key string, seq int64, at time.Time) error {
	q := `INSERT INTO console_reads (username, conversation_key, read_seq, updated_at) VALUES (?, ?, ?, ?)
ON DUPLICATE KEY UPDATE read_seq = GREATEST(read_seq, VALUES(read_seq)), updated_at = VALUES(updated_at)`
	if s.sqlite {
		q = `INSERT INTO console_reads (username, conversation_key, read_seq, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (username, conversation_key) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq), updated_at = excluded.updated_at`
	}
	return db.Exec(q, username, key, seq, s.at(at)).Error
}

// Assign sets the assignee; "" releases the conversation.
func (s *Store) Assign(ctx context.Context, key, assignee string, at time.Time) error {
	var a any
	if assignee != "" {
		a = assignee
	}
	return s.updateConversation(ctx, key, `assignee = ?`, a, at)
}

// SetState resolves or reopens a conversation. Resolving also clears
// waiting_since: nobody waits on a resolved conversation. A new customer
// message reopens it (the relay's upsert sets state 'open').
func (s *Store) SetState(ctx context.Context, key string, state chatcore.State, at time.Time) error {
	if state == chatcore.StateResolved {
		return s.updateConversation(ctx, key, `state = ?, waiting_since = NULL`, string(state), at)
	}
	return s.updateConversation(ctx, key, `state = ?`, string(state), at)
}

func (s *Store) updateConversation(ctx context.Context, key, set string, arg any, at time.Time) error {
	db := s.db.WithContext(ctx)
	res := db.Exec(`UPDATE conversations SET `+set+`, updated_at = ? WHERE conversation_key = ?`, arg, s.at(at), key)
	if res.Error != nil {
		return fmt.Errorf("update conversation %s: %w", key, res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	// MySQL counts changed rows only; tell "unchanged" from "missing".
	var one int
	err := db.Raw(`SELECT 1 FROM conversations WHERE conversation_key = ?`, key).Row().Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("conversation %s: %w", key, chatcore.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update conversation %s: %w", key, err)
	}
	return nil
}
