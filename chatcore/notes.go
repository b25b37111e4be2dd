package chatcore

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// NoteStore writes agents' private notes.
type NoteStore interface {
	// AppendNote writes a private note (kind chat.KindNote) to chat
	// history with the conversation's next seq, and nothing to
	// message_reply; it changes neither the waiting state nor the
	// assignee. A note whose ClientID the conversation has already is not
	// written again: the first is returned with Created false. A missing
	// conversation is ErrNotFound.
	AppendNote(ctx context.Context, n Reply) (ReplyResult, error)
}

// checkReplyBody says what is wrong with the body and client_id of a
// reply or note, or "".
func checkReplyBody(body, clientID string) string {
	switch {
	case strings.TrimSpace(body) == "":
		return "body is empty"
	case len(body) > maxReplyBytes || !utf8.ValidString(body):
		return "body must be valid UTF-8 of at most 64 KiB"
	case !validClientID(clientID):
		return "client_id must be 1 to 64 printable ASCII characters"
	}
	return ""
}

// handleNote is POST /api/conversations/{key}/notes: a private note for
// the other agents, pushed to them like a message.
func (c *Core) handleNote(w http.ResponseWriter, r *http.Request) {
	var req replyRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if msg := checkReplyBody(req.Body, req.ClientID); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	me := agentFrom(r.Context()).agent.Username
	res, err := c.store.AppendNote(r.Context(), Reply{
		ConversationKey: r.PathValue("key"), Author: me, Body: req.Body,
		ClientID: req.ClientID, At: time.Now().UTC(),
	})
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such conversation")
		return
	}
	if err != nil {
		c.serverError(w, r, "append note", err)
		return
	}
	if res.Created {
		if err := c.publishMessages(r.Context(), []Message{res.Message}); err != nil {
			c.log.LogAttrs(r.Context(), slog.LevelWarn, "publish note", slog.Any("error", err))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": wireMessage(res.Message)})
}
