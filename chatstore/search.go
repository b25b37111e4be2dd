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

// recentMessages is how many of the newest messages a search scans before
// it asks the full-text index (searchRecent).
const recentMessages = 5_000

// recentRowsPerResult bounds the matching rows the scan of recent messages
// reads per conversation asked for.
const recentRowsPerResult = 25

// SearchConversations finds conversations by key, customer name and
// message text (sql/*/0009_search.sql), in this order:
//
//   - the conversation whose key is the text byte for byte (the key's
//     unique index);
//   - conversations whose key starts with it (a range of that index);
//   - conversations with a message whose search_text has every term of the
//     text (the first message of a conversation has its key's terms, a
//     customer's message the customer's name), the newest match first:
//     first among the newest recentMessages messages, and only when they
//     do not fill the page through the database's full-text index. A word
//     that many messages have ("please", 退款) is found among the newest
//     in a few milliseconds, while the full-text index would read every
//     message that has it (seconds on MariaDB for 100,000 of them,
//     docs/benchmarks.md); a word that few have is quick in the index.
//
// The conversations are read as the list reads them, for the asking agent,
// with the list's tab and state.
func (s *DB) SearchConversations(ctx context.Context, q chatcore.SearchQuery) ([]chatcore.Conversation, error) {
	db := s.db.WithContext(ctx)
	var keys []string
	if _, err := s.lookup(db, q.Text); err == nil {
		keys = append(keys, q.Text) // the load below applies the tab and state
	}
	more, err := s.searchKeyPrefix(db, q)
	if err != nil {
		return nil, err
	}
	keys = appendNew(keys, more...)
	if terms := searchtext.Query(q.Text); len(terms) > 0 && len(keys) < q.Limit {
		if more, err = s.searchRecent(db, q, terms); err != nil {
			return nil, err
		}
		keys = appendNew(keys, more...)
		if len(keys) < q.Limit {
			if more, err = s.searchIndex(db, q, terms); err != nil {
				return nil, err
			}
			keys = appendNew(keys, more...)
		}
	}
	if len(keys) > q.Limit {
		keys = keys[:q.Limit]
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return s.loadConversations(db, q, keys)
}

// loadConversations reads the conversations of keys as q.Username sees
// them, in the order of keys, those the tab and state allow.
func (s *DB) loadConversations(db *gorm.DB, q chatcore.SearchQuery, keys []string) ([]chatcore.Conversation, error) {
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
	// Only the conversation of each key byte for byte, whatever else the
	// collation found.
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

// searchKeyPrefix returns keys that start with q.Text, byte for byte, in
// key order: a range of ux_conversations_key. The range ends before
// q.Text followed by the last Unicode character, which sorts after every
// other (keys compare by bytes: binary collations, COLLATE "C").
func (s *DB) searchKeyPrefix(db *gorm.DB, q chatcore.SearchQuery) ([]string, error) {
	where, args := listFilter(q.ConversationQuery)
	where = append([]string{"c.conversation_key >= ? AND c.conversation_key < ?"}, where...)
	args = append([]any{q.Text, q.Text + "\U0010FFFF"}, args...)
	var got []string
	err := db.Raw(`SELECT c.conversation_key FROM conversations c WHERE `+strings.Join(where, " AND ")+`
ORDER BY c.conversation_key LIMIT ?`, append(args, q.Limit)...).Scan(&got).Error
	if err != nil {
		return nil, fmt.Errorf("search conversation keys: %w", err)
	}
	return slices.DeleteFunc(got, func(k string) bool { return !strings.HasPrefix(k, q.Text) }), nil
}

// searchRecent returns the keys of conversations with one of the newest
// recentMessages messages that has every term, the newest match first:
// a range of the primary key, each row's search_text read with LIKE.
func (s *DB) searchRecent(db *gorm.DB, q chatcore.SearchQuery, terms []searchtext.Term) ([]string, error) {
	var newest *int64
	if err := db.Raw(`SELECT MAX(id) FROM chat_messages`).Row().Scan(&newest); err != nil {
		return nil, fmt.Errorf("search recent messages: %w", err)
	}
	if newest == nil {
		return nil, nil
	}
	where, args := listFilter(q.ConversationQuery)
	join := ""
	if len(where) > 0 {
		join = "\nJOIN conversations c ON c.conversation_key = m.conversation_key"
	}
	like := []string{"m.id > ?"}
	window := int64(recentMessages)
	if s.recent > 0 {
		window = s.recent
	}
	largs := []any{*newest - window}
	for _, t := range terms {
		like = append(like, "m.search_text LIKE ? ESCAPE '!'")
		largs = append(largs, t.Like())
	}
	where = append(like, where...)
	args = append(largs, args...)
	// Rows, not one per conversation: a conversation with many matches
	// takes only its newest. The LIMIT bounds them, and tells PostgreSQL's
	// planner to walk the primary key backwards (without it, the planner
	// guessed the LIKEs' selectivity and scanned the table: 450 ms).
	rows, err := db.Raw(`SELECT m.conversation_key FROM chat_messages m`+join+`
WHERE `+strings.Join(where, " AND ")+`
ORDER BY m.id DESC LIMIT ?`, append(args, q.Limit*recentRowsPerResult)...).Rows()
	if err != nil {
		return nil, fmt.Errorf("search recent messages: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() && len(keys) < q.Limit {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("search recent messages: %w", err)
		}
		keys = appendNew(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search recent messages: %w", err)
	}
	return keys, nil
}

// searchIndex returns the keys of conversations with a message that has
// every term, through the full-text index, the newest match first.
func (s *DB) searchIndex(db *gorm.DB, q chatcore.SearchQuery, terms []searchtext.Term) ([]string, error) {
	where, args := listFilter(q.ConversationQuery)
	join := ""
	if len(where) > 0 {
		join = "\nJOIN conversations c ON c.conversation_key = m.conversation_key"
	}
	// The index is asked for one term, the likeliest to be rare, and the
	// rows it finds are checked for the others: InnoDB reads every message
	// of each term it is given, so "tn54000 please" would cost as much as
	// "please" (docs/benchmarks.md).
	rare := rarest(terms)
	match := []string{s.d.MatchSearchText("m")}
	margs := []any{s.d.SearchQuery(terms[rare : rare+1])}
	for i, t := range terms {
		if i != rare {
			match = append(match, "m.search_text LIKE ? ESCAPE '!'")
			margs = append(margs, t.Like())
		}
	}
	where = append(match, where...)
	args = append(margs, args...)
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

// rarest is the index of the term likeliest to be in the fewest messages:
// the longest, a digit counting double (order and tracking numbers), a
// prefix one character less (it stands for all the terms it starts).
func rarest(terms []searchtext.Term) int {
	best, bestScore := 0, -1
	for i, t := range terms {
		score := 0
		for _, r := range strings.TrimRight(t.Text, "_") {
			score++
			if r >= '0' && r <= '9' {
				score++
			}
		}
		if t.Prefix {
			score--
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
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
