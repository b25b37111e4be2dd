package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/syncd-dev/syncd/store"
	"github.com/syncd-dev/syncd/store/batch"
)

// Rows is where requests are written and read back: the store.
type Rows interface {
	InsertOnce(ctx context.Context, r store.NewRow) (id int64, created bool, err error)
	RowState(ctx context.Context, id int64) (store.RowState, error)
}

// Validator says why the relay would fail a row: bridge.Bridge.
type Validator interface {
	Invalid(r batch.Row) string
}

// Options configure the API; Keys, Rows and Validator are required.
type Options struct {
	Keys      Keys
	Rows      Rows
	Validator Validator
	// MaxBodyBytes and MaxPayloadBytes are relay.max_body_bytes and
	// relay.max_payload_bytes: they bound a request's body (MaxRequest).
	MaxBodyBytes    int
	MaxPayloadBytes int
	Rate            float64       // requests a second per key; default 50
	Burst           int           // default 100
	KeyCache        time.Duration // how long a key read is trusted; 0: every request reads it
	Logger          *slog.Logger
	Metrics         *Metrics         // nil: none
	Now             func() time.Time // default time.Now
}

// Route is one of the API's routes, as net/http patterns them.
type Route struct{ Method, Path string }

// Routes are the API's routes; docs/openapi.yaml describes each.
var Routes = []Route{
	{http.MethodPost, "/api/v1/messages"},
	{http.MethodPost, "/api/v1/events"},
	{http.MethodGet, "/api/v1/messages/{id}"},
}

// Handler serves /api/v1/.
type Handler struct {
	o        Options
	keys     *keyCache
	limits   *limiters
	maxReq   int64
	mux      *http.ServeMux
	internal func(*http.Request, string, error) // logs a 500
}

// New builds the API's handler.
func New(o Options) (*Handler, error) {
	if o.Keys == nil || o.Rows == nil || o.Validator == nil {
		return nil, errors.New("ingest: Keys, Rows and Validator are required")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 10
	}
	if o.MaxPayloadBytes <= 0 {
		o.MaxPayloadBytes = 64 << 10
	}
	if o.Rate <= 0 {
		o.Rate = 50
	}
	if o.Burst <= 0 {
		o.Burst = 100
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{
		o:      o,
		keys:   &keyCache{keys: o.Keys, ttl: o.KeyCache, now: o.Now, entries: map[string]cachedKey{}},
		limits: &limiters{rate: rate.Limit(o.Rate), burst: o.Burst, m: map[string]*rate.Limiter{}},
		maxReq: MaxRequest(o.MaxBodyBytes, o.MaxPayloadBytes),
	}
	h.internal = func(r *http.Request, action string, err error) {
		o.Logger.LogAttrs(r.Context(), slog.LevelError, "ingest request failed", slog.String("action", action),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("error", err))
	}
	handlers := map[Route]http.HandlerFunc{
		Routes[0]: h.postMessage,
		Routes[1]: h.postEvent,
		Routes[2]: h.getMessage,
	}
	mux := http.NewServeMux()
	for _, rt := range Routes { // only these: the OpenAPI test checks the same list
		mux.HandleFunc(rt.Method+" "+rt.Path, handlers[rt])
	}
	// The same paths with another method: 405 in JSON, not net/http's text.
	allow := map[string][]string{}
	for _, rt := range Routes {
		allow[rt.Path] = append(allow[rt.Path], rt.Method)
	}
	for path, methods := range allow {
		methods := strings.Join(methods, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", methods)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed here (allowed: %s)", r.Method, methods))
		})
	}
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint (see docs/openapi.yaml)")
	})
	h.mux = mux
	return h, nil
}

// MaxRequest is the largest request body the API reads: a body and a
// payload at their limits, room for JSON escapes in the body, and the
// other fields. A larger request gets 413.
func MaxRequest(maxBody, maxPayload int) int64 {
	return int64(2*maxBody + maxPayload + 16<<10)
}

// ServeHTTP authenticates, rate-limits and routes a request.
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	defer func() { h.o.Metrics.count(r, w.code) }()
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	if r.ContentLength > h.maxReq {
		hd.Set("Connection", "close")
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", h.maxReq))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.maxReq)
	token := bearer(r)
	if token == "" {
		hd.Set("WWW-Authenticate", `Bearer realm="syncd"`)
		writeError(w, http.StatusUnauthorized, "missing API key: send Authorization: Bearer "+KeyPrefix+"… (syncd apikey add NAME)")
		return
	}
	key, err := h.keys.lookup(r.Context(), token)
	var ae authError
	switch {
	case errors.As(err, &ae):
		hd.Set("WWW-Authenticate", `Bearer realm="syncd", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, ae.msg)
		return
	case err != nil:
		h.internal(r, "look up API key", err)
		hd.Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "cannot check the API key now (database unavailable); retry")
		return
	case key.Scope != Scope:
		writeError(w, http.StatusForbidden, fmt.Sprintf("API key %q has scope %q, not %q", key.Name, key.Scope, Scope))
		return
	}
	if ok, wait := h.limits.allow(key.Name, h.o.Now()); !ok {
		secs := retryAfterSeconds(wait)
		hd.Set("Retry-After", fmt.Sprint(secs))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("rate limit of %g requests a second (burst %d) for API key %q exceeded; retry after %ds",
			h.o.Rate, h.o.Burst, key.Name, secs))
		return
	}
	h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyCtx{}, key.Name)))
}

type keyCtx struct{}

// keyName is the authenticated key's name.
func keyName(r *http.Request) string {
	name, _ := r.Context().Value(keyCtx{}).(string)
	return name
}
