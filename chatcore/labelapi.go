package chatcore

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// maxLabelBody bounds a label request: {"intent": "..."} and nothing more.
const maxLabelBody = 4 << 10

// intents is the list agents may label with; never nil.
func (c *Core) intents() []string {
	if c.o.Intents == nil {
		return []string{}
	}
	if in := c.o.Intents(); in != nil {
		return in
	}
	return []string{}
}

func (c *Core) handleIntents(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"intents": c.intents()})
}

// handleLabel gives a message an intent: an agent reply (what the customer
// asked for, as the agent saw it) or a customer message (correcting the
// bot). The store refuses other messages.
func (c *Core) handleLabel(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLabelBody)
	var req struct {
		Intent string `json:"intent"`
	}
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "message id must be a positive integer")
		return
	}
	intents := c.intents()
	if len(intents) == 0 {
		writeError(w, http.StatusConflict, "the bot is off: there are no intents to label with")
		return
	}
	if !slices.Contains(intents, req.Intent) {
		writeError(w, http.StatusBadRequest, "unknown intent; GET /api/intents lists them")
		return
	}
	l, err := c.store.LabelMessage(r.Context(), Label{
		MessageID: id, ConversationKey: r.PathValue("key"), Intent: req.Intent,
		LabelledBy: agentFrom(r.Context()).agent.Username, LabelledAt: time.Now().UTC(),
	})
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "no such message in this conversation")
	case errors.Is(err, ErrNotLabellable):
		writeError(w, http.StatusUnprocessableEntity, "only customer messages and agent replies to them can be labelled")
	case err != nil:
		c.serverError(w, r, "label message", err)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"label": l})
	}
}

func (c *Core) handleLabels(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.conversation(w, r); !ok {
		return
	}
	ls, err := c.store.ConversationLabels(r.Context(), r.PathValue("key"))
	if err != nil {
		c.serverError(w, r, "list labels", err)
		return
	}
	if ls == nil {
		ls = []Label{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"labels": ls})
}

// handleRetrain (admins only) shows the last `syncd bot retrain`; "retrain" is
// null before the first.
func (c *Core) handleRetrain(w http.ResponseWriter, r *http.Request) {
	rt, err := c.store.LastRetrain(r.Context())
	if errors.Is(err, ErrNotFound) {
		writeJSON(w, http.StatusOK, map[string]any{"retrain": nil})
		return
	}
	if err != nil {
		c.serverError(w, r, "last retrain", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"retrain": rt})
}
