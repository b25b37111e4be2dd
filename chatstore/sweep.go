package chatstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
)

// LatestUpdate returns the newest conversations.updated_at.
func (s *DB) LatestUpdate(ctx context.Context) (time.Time, error) {
	var t dbTime
	if err := s.db.WithContext(ctx).Raw(`SELECT MAX(updated_at) FROM conversations`).Row().Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("read latest conversation update: %w", err)
	}
	return t.Time, nil
}

// ChangedConversations returns up to limit conversations updated after the
// cursor, in (updated_at, id) order, with their last message. The query
// walks ix_conversations_updated.
func (s *DB) ChangedConversations(ctx context.Context, after chatcore.SweepCursor, limit int) ([]chatcore.Conversation, error) {
	cols, from := conversationFrom(false)
	at := s.at(after.UpdatedAt)
	rows, err := s.db.WithContext(ctx).Raw(`SELECT `+cols+`
`+from+`
WHERE c.updated_at > ? OR (c.updated_at = ? AND c.id > ?)
ORDER BY c.updated_at, c.id LIMIT ?`, at, at, after.ID, limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("read changed conversations: %w", err)
	}
	return s.scanConversations(rows)
}

// ConversationsByKey returns those of the given conversations that exist,
// with ReadSeq 0.
func (s *DB) ConversationsByKey(ctx context.Context, keys []string) ([]chatcore.Conversation, error) {
	cols, from := conversationFrom(false)
	var out []chatcore.Conversation
	for ks := range slices.Chunk(keys, 500) {
		rows, err := s.db.WithContext(ctx).Raw("SELECT "+cols+"\n"+from+"\nWHERE c.conversation_key IN ?", ks).Rows()
		if err != nil {
			return nil, fmt.Errorf("load conversations: %w", err)
		}
		cs, err := s.scanConversations(rows)
		if err != nil {
			return nil, err
		}
		asked := keySet(ks)
		for _, cv := range cs {
			if asked[cv.Key] { // byte for byte, whatever the collation found
				out = append(out, cv)
			}
		}
	}
	return out, nil
}

// ReadMarkers returns the read_seq of the given agents in the given
// conversations.
func (s *DB) ReadMarkers(ctx context.Context, keys, usernames []string) (map[chatcore.ReadKey]int64, error) {
	out := make(map[chatcore.ReadKey]int64)
	for ks := range slices.Chunk(keys, 500) {
		asked := keySet(ks)
		for us := range slices.Chunk(usernames, 500) {
			rows, err := s.db.WithContext(ctx).Raw(`SELECT username, conversation_key, read_seq FROM console_reads
WHERE conversation_key IN ? AND username IN ?`, ks, us).Rows()
			if err != nil {
				return nil, fmt.Errorf("read markers: %w", err)
			}
			for rows.Next() {
				var k chatcore.ReadKey
				var seq int64
				if err := rows.Scan(&k.Username, &k.ConversationKey, &seq); err != nil {
					rows.Close()
					return nil, fmt.Errorf("scan read marker: %w", err)
				}
				if asked[k.ConversationKey] { // byte for byte, whatever the collation found
					out[k] = seq
				}
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return nil, fmt.Errorf("read markers: %w", err)
			}
		}
	}
	return out, nil
}

func keySet(keys []string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
