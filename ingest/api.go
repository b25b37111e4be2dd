package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/syncd-dev/syncd/store"
	"github.com/syncd-dev/syncd/store/batch"
)

// messageRequest is POST /api/v1/messages.
type messageRequest struct {
	ConversationKey *string         `json:"conversation_key"`
	Body            *string         `json:"body"`
	SenderName      string          `json:"sender_name"`
	Payload         json.RawMessage `json:"payload"`
}

// eventRequest is POST /api/v1/events.
type eventRequest struct {
	ConversationKey *string         `json:"conversation_key"`
	Kind            string          `json:"kind"`
	Payload         json.RawMessage `json:"payload"`
	Body            string          `json:"body"`
}

// accepted is the answer to a POST: 201 for a new row, 200 with the row
// a repeated Idempotency-Key found.
type accepted struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

// rowStatus is GET /api/v1/messages/{id}.
type rowStatus struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	LastError   *string    `json:"last_error"`
	CreatedAt   *time.Time `json:"created_at"`
	ProcessedAt *time.Time `json:"processed_at"`
}

func (h *Handler) postMessage(w http.ResponseWriter, r *http.Request) {
	var req messageRequest
	if !h.decode(w, r, &req) {
		return
	}
	switch {
	case req.ConversationKey == nil:
		writeError(w, http.StatusBadRequest, "conversation_key is required")
	case req.Body == nil:
		writeError(w, http.StatusBadRequest, "body is required")
	default:
		h.write(w, r, store.NewRow{ConversationKey: *req.ConversationKey, Body: *req.Body, SenderName: req.SenderName},
			batch.Row{Kind: "message"}, req.Payload)
	}
}

func (h *Handler) postEvent(w http.ResponseWriter, r *http.Request) {
	var req eventRequest
	if !h.decode(w, r, &req) {
		return
	}
	switch {
	case req.ConversationKey == nil:
		writeError(w, http.StatusBadRequest, "conversation_key is required")
	case req.Kind == "":
		writeError(w, http.StatusBadRequest, "kind is required (an event name such as order_created)")
	case strings.TrimSpace(req.Kind) == "message":
		writeError(w, http.StatusUnprocessableEntity, "kind message is a customer message: POST it to /api/v1/messages")
	case absent(req.Payload):
		writeError(w, http.StatusBadRequest, `payload is required (a JSON value such as {"order_id": 1001})`)
	default:
		body := req.Body
		if body == "" {
			body = req.Kind // what agents see of an event without a text
		}
		h.write(w, r, store.NewRow{ConversationKey: *req.ConversationKey, Body: body, Kind: req.Kind},
			batch.Row{Kind: req.Kind}, req.Payload)
	}
}

// write checks the row as the relay would, then inserts it once.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, row store.NewRow, check batch.Row, payload json.RawMessage) {
	if !absent(payload) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, payload); err != nil { // the decoder checked it: cannot fail
			writeError(w, http.StatusBadRequest, "payload is not valid JSON")
			return
		}
		row.Payload = buf.String()
	}
	check.ConversationKey, check.Body, check.SenderName = row.ConversationKey, row.Body, row.SenderName
	check.BodyBytes, check.PayloadBytes = len(row.Body), len(row.Payload)
	if row.Payload != "" {
		check.Payload = &row.Payload
	}
	if reason := h.o.Validator.Invalid(check); reason != "" {
		writeError(w, http.StatusUnprocessableEntity, reason)
		return
	}
	idem := r.Header.Get("Idempotency-Key")
	if idem != "" || len(r.Header.Values("Idempotency-Key")) > 0 {
		if reason := checkIdempotencyKey(idem); reason != "" {
			writeError(w, http.StatusBadRequest, reason)
			return
		}
	} else {
		var err error
		if idem, err = randomRef(); err != nil {
			h.internal(r, "make a row reference", err)
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
	}
	row.SourceRef = sourceRef(keyName(r), idem)
	id, created, err := h.o.Rows.InsertOnce(r.Context(), row)
	if err != nil {
		h.internal(r, "insert into message_sync", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "cannot write the message now (database unavailable); retry with the same Idempotency-Key")
		return
	}
	w.Header().Set("Location", "/api/v1/messages/"+strconv.FormatInt(id, 10))
	if created {
		writeJSON(w, http.StatusCreated, accepted{ID: id, Status: "pending"})
		return
	}
	st, err := h.o.Rows.RowState(r.Context(), id)
	if err != nil {
		h.internal(r, "read message_sync row", err)
		writeError(w, http.StatusServiceUnavailable, "cannot read the message now; retry with the same Idempotency-Key")
		return
	}
	writeJSON(w, http.StatusOK, accepted{ID: id, Status: st.Status})
}

func (h *Handler) getMessage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	notFound := func() { writeError(w, http.StatusNotFound, "no message of this API key has that id") }
	if err != nil || id < 1 {
		notFound()
		return
	}
	st, err := h.o.Rows.RowState(r.Context(), id)
	if errors.Is(err, store.ErrNoRow) {
		notFound()
		return
	}
	if err != nil {
		h.internal(r, "read message_sync row", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "cannot read the message now (database unavailable); retry")
		return
	}
	// Only the rows this key wrote: another key's, or a legacy writer's,
	// are no business of this one (and 404 says nothing of them).
	if !strings.HasPrefix(st.SourceRef, sourceRef(keyName(r), "")) {
		notFound()
		return
	}
	out := rowStatus{ID: st.ID, Kind: st.Kind, Status: st.Status, Attempts: st.Attempts}
	if st.LastError != "" {
		out.LastError = &st.LastError
	}
	if !st.CreatedAt.IsZero() {
		out.CreatedAt = &st.CreatedAt
	}
	if !st.ProcessedAt.IsZero() {
		out.ProcessedAt = &st.ProcessedAt
	}
	writeJSON(w, http.StatusOK, out)
}

// absent: no payload, or null, which the row stores as NULL.
func absent(p json.RawMessage) bool {
	p = bytes.TrimSpace(p)
	return len(p) == 0 || bytes.Equal(p, []byte("null"))
}

// decode reads the request's one JSON object into v, or answers 400, 413
// or 415 and returns false. The bytes are checked for UTF-8 before
// decoding, because encoding/json would turn invalid bytes into U+FFFD
// where the relay fails them.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	raw, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", tooBig.Limit))
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "cannot read the request body")
		return false
	}
	if !utf8.Valid(raw) {
		writeError(w, http.StatusBadRequest, "request body is not valid UTF-8")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "request body is not the expected JSON object: "+err.Error())
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "request body has more than one JSON value")
		return false
	}
	return true
}

// writeJSON writes v with status; JSON is all the API answers.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes {"error": msg}, as the console API does.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
