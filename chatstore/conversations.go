package chatstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat/history"
	"github.com/syncd-dev/syncd/chatcore"
)

// Conversations lists conversations for one agent, most recent message
// first.
func (s *DB) Conversations(ctx context.Context, q chatcore.ConversationQuery) ([]chatcore.Conversation, error) {
	cols, from := conversationFrom(true)
	where, wargs := listFilter(q)
	args := append([]any{q.Username}, wargs...)
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

// listFilter is the WHERE conditions (on alias c) of q's tab and state,
// and their arguments.
func listFilter(q chatcore.ConversationQuery) (where []string, args []any) {
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
	return where, args
}

// Keys are compared byte for byte (README, "the contract"). The database
// finds a key with its own comparison, which a collation may make case-,
// accent- or pad-insensitive; of what it finds, only the conversation whose
// key is byte for byte the one asked for is that conversation, and every
// statement after the lookup goes by its id, so that a key from a URL
// ("CONV-1") never reaches another spelling ("conv-1").

// conversationRef is a conversation found by its exact key.
type conversationRef struct {
	id, lastSeq int64
}

// lookup finds the conversation whose key is key, byte for byte, or
// returns an error wrapping chatcore.ErrNotFound.
func (s *DB) lookup(db *gorm.DB, key string) (conversationRef, error) {
	rows, err := db.Raw(`SELECT id, conversation_key, last_seq FROM conversations WHERE conversation_key = ?`, key).Rows()
	if err != nil {
		return conversationRef{}, fmt.Errorf("find conversation %s: %w", key, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref conversationRef
		var stored string
		if err := rows.Scan(&ref.id, &stored, &ref.lastSeq); err != nil {
			return conversationRef{}, fmt.Errorf("find conversation %s: %w", key, err)
		}
		if stored == key {
			return ref, nil
		}
	}
	if err := rows.Err(); err != nil {
		return conversationRef{}, fmt.Errorf("find conversation %s: %w", key, err)
	}
	return conversationRef{}, fmt.Errorf("conversation %s: %w", key, chatcore.ErrNotFound)
}

// Conversation returns one conversation as username sees it.
func (s *DB) Conversation(ctx context.Context, key, username string) (chatcore.Conversation, error) {
	cols, from := conversationFrom(true)
	rows, err := s.db.WithContext(ctx).Raw("SELECT "+cols+"\n"+from+"\nWHERE c.conversation_key = ?", username, key).Rows()
	if err != nil {
		return chatcore.Conversation{}, fmt.Errorf("load conversation %s: %w", key, err)
	}
	cs, err := s.scanConversations(rows)
	if err != nil {
		return chatcore.Conversation{}, err
	}
	for _, cv := range cs {
		if cv.Key == key {
			return cv, nil
		}
	}
	return chatcore.Conversation{}, fmt.Errorf("conversation %s: %w", key, chatcore.ErrNotFound)
}

// MarkRead raises username's read marker in key to seq, capped at the
// conversation's last_seq; it never lowers it.
func (s *DB) MarkRead(ctx context.Context, username, key string, seq int64) error {
	ref, err := s.lookup(s.db.WithContext(ctx), key)
	if err != nil {
		return err
	}
	if err := s.raiseReadMarker(s.db.WithContext(ctx), username, key, min(seq, ref.lastSeq), time.Now()); err != nil {
		return fmt.Errorf("mark read %s: %w", key, err)
	}
	return nil
}

// raiseReadMarker upserts a read marker, keeping the higher seq.
func (s *DB) raiseReadMarker(db *gorm.DB, username, key string, seq int64, at time.Time) error {
	// The current value qualified: PostgreSQL calls a bare read_seq in
	// DO UPDATE ambiguous (it could be excluded's).
	d := s.d
	q := `INSERT INTO console_reads (username, conversation_key, read_seq, updated_at) VALUES (?, ?, ?, ?)` +
		d.Upsert("username, conversation_key") +
		`read_seq = ` + d.Greatest() + `(console_reads.read_seq, ` + d.Inserted("read_seq") + `), updated_at = ` + d.Inserted("updated_at")
	return db.Exec(q, username, key, seq, s.at(at)).Error
}

// Assign sets the assignee; "" releases the conversation.
func (s *DB) Assign(ctx context.Context, key, assignee string, at time.Time) error {
	return s.updateConversation(ctx, key, func(tx *gorm.DB, id int64) error {
		return history.New(s.d).Assign(tx, id, assignee, at)
	})
}

// SetState resolves or reopens a conversation (history.Writer.Resolve, Reopen).
func (s *DB) SetState(ctx context.Context, key string, state chatcore.State, at time.Time) error {
	return s.updateConversation(ctx, key, func(tx *gorm.DB, id int64) error {
		if state == chatcore.StateResolved {
			return history.New(s.d).Resolve(tx, id, at)
		}
		return history.New(s.d).Reopen(tx, id, at)
	})
}

func (s *DB) updateConversation(ctx context.Context, key string, update func(tx *gorm.DB, id int64) error) error {
	db := s.db.WithContext(ctx)
	ref, err := s.lookup(db, key)
	if err != nil {
		return err
	}
	if err := update(db, ref.id); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}
