package chatcore

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// The canned replies API (docs/protocol.md): every agent lists them and
// renders one for a conversation; admins create, change and delete them.

func (c *Core) handleCannedList(w http.ResponseWriter, r *http.Request) {
	list, err := c.store.CannedReplies(r.Context())
	if err != nil {
		c.serverError(w, r, "list canned replies", err)
		return
	}
	if list == nil {
		list = []CannedReply{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"canned": list})
}

type cannedRequest struct {
	Shortcut string            `json:"shortcut"`
	Title    string            `json:"title"`
	Texts    map[string]string `json:"texts"`
}

// cannedID reads the path's {id}, or answers 404.
func cannedID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "no such canned reply")
		return 0, false
	}
	return id, true
}

// handleCannedSave is POST /api/canned (id 0: create) and PUT
// /api/canned/{id} (replace).
func (c *Core) handleCannedSave(w http.ResponseWriter, r *http.Request) {
	var id int64
	if r.PathValue("id") != "" {
		var ok bool
		if id, ok = cannedID(w, r); !ok {
			return
		}
	}
	var req cannedRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	cr := CannedReply{ID: id, Shortcut: req.Shortcut, Title: req.Title, Texts: req.Texts,
		UpdatedBy: agentFrom(r.Context()).agent.Username, UpdatedAt: time.Now().UTC()}
	if msg := normalizeCanned(&cr); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	saved, err := c.store.SaveCanned(r.Context(), cr)
	switch {
	case errors.Is(err, ErrExists):
		writeError(w, http.StatusConflict, "another canned reply has the shortcut /"+cr.Shortcut)
		return
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "no such canned reply")
		return
	case err != nil:
		c.serverError(w, r, "save canned reply", err)
		return
	}
	status := http.StatusOK
	if id == 0 {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"canned": saved})
}

func (c *Core) handleCannedDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := cannedID(w, r)
	if !ok {
		return
	}
	if err := c.store.DeleteCanned(r.Context(), id); err != nil {
		if errors.Is(err, ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such canned reply")
			return
		}
		c.serverError(w, r, "delete canned reply", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleCannedRender is GET /api/conversations/{key}/canned/{id}?lang=:
// the reply's text in lang (or its fallback), filled from the
// conversation, and the placeholders left unfilled.
func (c *Core) handleCannedRender(w http.ResponseWriter, r *http.Request) {
	id, ok := cannedID(w, r)
	if !ok {
		return
	}
	cr, err := c.store.CannedReply(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such canned reply")
		return
	}
	if err != nil {
		c.serverError(w, r, "load canned reply", err)
		return
	}
	key := r.PathValue("key")
	fields, err := c.store.ConversationFields(r.Context(), key)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such conversation")
		return
	}
	if err != nil {
		c.serverError(w, r, "read conversation fields", err)
		return
	}
	// What the conversation itself says comes last, so that a payload
	// field of the same name cannot change it.
	fields["conversation_key"] = key
	fields["agent_name"] = agentFrom(r.Context()).agent.Username
	text, lang := cr.TextIn(r.URL.Query().Get("lang"))
	out, missing := Render(text, fields)
	if missing == nil {
		missing = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"text": out, "lang": lang, "missing": missing})
}
