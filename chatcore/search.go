package chatcore

import (
	"context"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SearchStore is what the conversation search reads.
type SearchStore interface {
	// SearchConversations finds conversations by q.Text as q.Username
	// sees them: the one whose key is q.Text byte for byte first, then
	// those whose key starts with it, then those whose key, customer's
	// name or a message has its words, newest match first; at most
	// q.Limit, within q's tab and state.
	SearchConversations(ctx context.Context, q SearchQuery) ([]Conversation, error)
}

// SearchQuery is a search of the conversation list (GET
// /api/conversations?q=).
type SearchQuery struct {
	ConversationQuery        // the asking agent, tab, state and limit
	Text              string // what the agent typed, trimmed
}

// Limits of the search.
const (
	maxSearchChars     = 100
	defaultSearchLimit = 20
	maxSearchLimit     = 50
)

// searchText checks the q parameter: the text trimmed, or why it cannot
// be searched.
func searchText(q string) (string, string) {
	q = strings.TrimSpace(q)
	switch {
	case !utf8.ValidString(q):
		return "", "q must be valid UTF-8"
	case q == "":
		return "", "q is empty"
	case utf8.RuneCountInString(q) > maxSearchChars:
		return "", "q must be at most 100 characters"
	case strings.IndexFunc(q, unicode.IsControl) >= 0:
		return "", "q must not contain control characters"
	}
	return q, ""
}

// handleSearch answers GET /api/conversations?q=: the list's items, for
// the conversations that match.
func (c *Core) handleSearch(w http.ResponseWriter, r *http.Request, q ConversationQuery) {
	text, bad := searchText(r.URL.Query().Get("q"))
	if bad != "" {
		writeError(w, http.StatusBadRequest, bad)
		return
	}
	if r.URL.Query().Get("limit") == "" {
		q.Limit = defaultSearchLimit
	}
	q.Limit = min(q.Limit, maxSearchLimit)
	convs, err := c.store.SearchConversations(r.Context(), SearchQuery{ConversationQuery: q, Text: text})
	if err != nil {
		c.serverError(w, r, "search conversations", err)
		return
	}
	c.writeConversations(w, convs)
}
