package chatstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat/searchtext"
	"github.com/syncd-dev/syncd/chatcore"
)

// SearchConversations finds conversations by key, customer name and
// message text (sql/*/0009_search.sql). Two lookups, then one load:
//
//   - keys: conversations whose key contains the text, any case (a scan of
//     the keys: a part of a key is what an agent types, which no index
//     serves), most recent first;
//   - messages: conversations with a message whose search_text has every
//     term of the text, through the database's full-text index, the one
//     with the newest such message first;
//
// and the conversations themselves are read as the list reads them, for
// the asking agent. A key that is the text byte for byte comes first.
func (s *DB) SearchConversations(ctx context.Context, q chatcore.SearchQuery) ([]chatcore.Conversation, error) {
	db := s.db.WithContext(ctx)
	keys, err := s.searchKeys(db, q)
	if err != nil {
		return nil, err
	}
	if terms := searchtext.Query(q.Text); len(terms) > 0 && len(keys) < q.Limit {
		more, err := s.searchMessages(db, q, terms)
		if err != nil {
			return nil, err
		}
		keys = appendNew(keys, more...)
	}
	if len(keys) > q.Limit {
		keys = keys[:q.Limit]
	}
	if len(keys) == 0 {
		return nil, nil
	}
	cols, from := conversationFrom(true)
	where, args := listFilter(q.ConversationQuery)
	where = append([]string{"c.conversation_key IN ?"}, where...)
	args = append([]any{q.Username, keys}, args...)
	rows, err := db.Raw("SELECT "+cols+"\n"+from+"\nWHERE "+strings.Join(where, " AND "), args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("search conversations: load: %w", err)
	}
	found, err := s.scanConversations(rows)
	if err != nil {
		return nil, err
	}
	// In the order of keys; only the conversation of each key byte for
	// byte, whatever else the collation found.
	byKey := make(map[string]chatcore.Conversation, len(found))
	for _, cv := range found {
		byKey[cv.Key] = cv
	}
	out := make([]chatcore.Conversation, 0, len(keys))
	for _, k := range keys {
		if cv, ok := byKey[k]; ok {
			out = append(out, cv)
		}
	}
	return out, nil
}

// searchKeys returns the keys that contain q.Text, any case, the one that
// is q.Text first, then the most recent.
func (s *DB) searchKeys(db *gorm.DB, q chatcore.SearchQuery) ([]string, error) {
	where, args := listFilter(q.ConversationQuery)
	where = append([]string{s.d.ContainsLower("c.conversation_key")}, where...)
	args = append([]any{strings.ToLower(q.Text)}, args...)
	// The exact key is looked up apart: among many keys that contain the
	// text it might not be one of the most recent.
	var keys []string
	if _, err := s.lookup(db, q.Text); err == nil {
		keys = append(keys, q.Text) // the load below applies the tab and state
	}
	var got []string
	err := db.Raw(`SELECT c.conversation_key FROM conversations c WHERE `+strings.Join(where, " AND ")+`
ORDER BY c.last_message_at DESC, c.id DESC LIMIT ?`, append(args, q.Limit)...).Scan(&got).Error
	if err != nil {
		return nil, fmt.Errorf("search conversation keys: %w", err)
	}
	return appendNew(keys, got...), nil
}

// searchMessages returns the keys of conversations with a message that
// has every term, the newest match first.
func (s *DB) searchMessages(db *gorm.DB, q chatcore.SearchQuery, terms []searchtext.Term) ([]string, error) {
	where, args := listFilter(q.ConversationQuery)
	join := ""
	if len(where) > 0 {
		join = "\nJOIN conversations c ON c.conversation_key = m.conversation_key"
	}
	where = append([]string{s.d.MatchSearchText("m")}, where...)
	args = append([]any{s.d.SearchQuery(terms)}, args...)
	var got []struct {
		ConversationKey string
		LastMatch       int64
	}
	err := db.Raw(`SELECT m.conversation_key, MAX(m.id) AS last_match FROM chat_messages m`+join+`
WHERE `+strings.Join(where, " AND ")+`
GROUP BY m.conversation_key ORDER BY last_match DESC LIMIT ?`, append(args, q.Limit)...).Scan(&got).Error
	if err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	keys := make([]string, len(got))
	for i, g := range got {
		keys[i] = g.ConversationKey
	}
	return keys, nil
}

// appendNew appends to keys those of more it does not have yet.
func appendNew(keys []string, more ...string) []string {
	for _, k := range more {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}
