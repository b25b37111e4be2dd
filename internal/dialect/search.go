package dialect

import (
	"strings"

	"github.com/syncd-dev/syncd/chat/searchtext"
)

// The console's search (sql/*/0009_search.sql). Each database searches
// chat_messages.search_text with its own full-text index; the terms are
// made by chat/searchtext, so that all three find the same messages.

// MatchSearchText is a condition on chat_messages alias m that its
// search_text has every term of the argument SearchQuery writes (one
// placeholder): MATCH … AGAINST in boolean mode on MySQL (the FULLTEXT
// index ft_chat_messages_search), the tsvector of the 'simple'
// configuration on PostgreSQL (the GIN index ix_chat_messages_search),
// the FTS5 table chat_messages_search on SQLite.
func (d D) MatchSearchText(m string) string {
	switch d {
	case Postgres:
		return "to_tsvector('simple', " + m + ".search_text) @@ to_tsquery('simple', ?)"
	case SQLite:
		return m + ".id IN (SELECT rowid FROM chat_messages_search WHERE chat_messages_search MATCH ?)"
	}
	return "MATCH (" + m + ".search_text) AGAINST (? IN BOOLEAN MODE)"
}

// SearchQuery writes terms (searchtext.Query: letters, digits and "_"
// only, so nothing needs escaping) in the dialect's full-text query
// syntax, every term required.
func (d D) SearchQuery(terms []searchtext.Term) string {
	parts := make([]string, 0, len(terms))
	for _, t := range terms {
		switch d {
		case Postgres:
			p := "'" + strings.ReplaceAll(t.Text, "'", "''") + "'"
			if t.Prefix {
				p += ":*"
			}
			parts = append(parts, p)
		case SQLite:
			p := `"` + strings.ReplaceAll(t.Text, `"`, `""`) + `"`
			if t.Prefix {
				p += "*"
			}
			parts = append(parts, p)
		default:
			p := "+" + t.Text
			if t.Prefix {
				p += "*"
			}
			parts = append(parts, p)
		}
	}
	sep := " "
	switch d {
	case Postgres:
		sep = " & "
	case SQLite:
		sep = " AND "
	}
	return strings.Join(parts, sep)
}
