package chatcore

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/syncd-dev/syncd/chatcore/console"
)

// maxBody bounds every request body.
const maxBody = 1 << 20

// Handler serves the console API (/api/*), the WebSocket (/ws) and the
// console's static files (/), as docs/protocol.md describes. Every request
// must name this server in its Host header (hostAllowed) and carry at most
// 1 MiB of body. Every /api/ route but POST /api/login needs a session;
// state-changing requests and /ws must come from the server's own origin,
// Options.PublicURL's or one of Options.AllowedOrigins.
func (c *Core) Handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("POST /api/login", c.handleLogin)
	api.HandleFunc("POST /api/logout", c.handleLogout)
	api.HandleFunc("GET /api/me", c.handleMe)
	api.HandleFunc("POST /api/me/away", c.handleAway)
	api.HandleFunc("GET /api/admin/sla", adminOnly(c.handleGetSLA))
	api.HandleFunc("PUT /api/admin/sla", adminOnly(c.handlePutSLA))
	api.HandleFunc("GET /api/admin/ops", adminOnly(c.handleOpsStatus))
	api.HandleFunc("POST /api/admin/ops/requeue", adminOnly(c.handleOpsRequeue))
	api.HandleFunc("GET /api/conversations", c.handleConversations)
	api.HandleFunc("GET /api/conversations/{key}/messages", c.handleMessages)
	api.HandleFunc("POST /api/conversations/{key}/replies", c.handleReply)
	api.HandleFunc("POST /api/conversations/{key}/notes", c.handleNote)
	api.HandleFunc("POST /api/conversations/{key}/read", c.handleRead)
	api.HandleFunc("POST /api/conversations/{key}/assign", c.handleAssign)
	api.HandleFunc("POST /api/conversations/{key}/resolve", c.handleState(StateResolved))
	api.HandleFunc("POST /api/conversations/{key}/reopen", c.handleState(StateOpen))
	api.HandleFunc("GET /api/intents", c.handleIntents)
	api.HandleFunc("GET /api/conversations/{key}/labels", c.handleLabels)
	api.HandleFunc("POST /api/conversations/{key}/messages/{id}/label", c.handleLabel)
	api.HandleFunc("GET /api/agents", c.handleAgents)
	api.HandleFunc("GET /api/bot/retrain", adminOnly(c.handleRetrain))
	api.HandleFunc("GET /api/admin/agents", adminOnly(c.handleAdminAgents))
	api.HandleFunc("POST /api/admin/agents", adminOnly(c.handleAddAgent))
	api.HandleFunc("POST /api/admin/agents/{username}/{action}", adminOnly(c.handleAgentChange))
	api.HandleFunc("GET /api/canned", c.handleCannedList)
	api.HandleFunc("GET /api/conversations/{key}/canned/{id}", c.handleCannedRender)
	api.HandleFunc("POST /api/canned", adminOnly(c.handleCannedSave))
	api.HandleFunc("PUT /api/canned/{id}", adminOnly(c.handleCannedSave))
	api.HandleFunc("DELETE /api/canned/{id}", adminOnly(c.handleCannedDelete))
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint")
	})
	authed := c.requireSession(api)

	mux := http.NewServeMux()
	mux.Handle("/api/", c.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/login" {
			api.ServeHTTP(w, r)
			return
		}
		authed.ServeHTTP(w, r)
	})))
	mux.HandleFunc("/ws", c.serveWS)
	mux.Handle("/", console.Handler(c.wsOrigins)) // the console's static files
	return c.checkHost(limitBody(mux))
}

// adminOnly lets admins through (console_agents.admin: `syncd agent add
// --admin`, `syncd agent admin NAME`) and refuses every other agent with
// 403. Every admin route is wrapped in it where Handler registers it, and
// security_test.go's route list marks it admin, so that a route added
// without it is caught.
func adminOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !agentFrom(r.Context()).agent.Admin {
			writeError(w, http.StatusForbidden, "admins only (syncd agent admin NAME)")
			return
		}
		h(w, r)
	}
}

// limitBody refuses a body declared larger than maxBody and cuts one that
// turns out larger, on every route: a handler that reads no body does not
// read it either, and net/http then closes the connection.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBody {
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxBody))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r)
	})
}

// wsOrigins are the origins the console page may open its WebSocket to:
// the one it was loaded from, and PublicURL's.
func (c *Core) wsOrigins(r *http.Request) string {
	scheme := "ws://"
	if c.proxies.secure(r) {
		scheme = "wss://"
	}
	out := scheme + r.Host
	if c.publicOrigin != "" {
		pub := "ws" + strings.TrimPrefix(c.publicOrigin, "http")
		if pub != out {
			out += " " + pub
		}
	}
	return out
}

// guard applies what every API request gets: JSON-only headers and the
// origin check on state-changing methods.
func (c *Core) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if !safeMethod(r.Method) && !c.originAllowed(r) {
			writeError(w, http.StatusForbidden, "origin not allowed")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// writeJSON writes v with status. The console renders strings as text, and
// JSON is all the API ever answers.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// serverError logs err and answers 500 without its detail.
func (c *Core) serverError(w http.ResponseWriter, r *http.Request, action string, err error) {
	c.log.LogAttrs(r.Context(), slog.LevelError, "console request failed",
		slog.String("action", action), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Any("error", err))
	writeError(w, http.StatusInternalServerError, "internal error")
}

func isJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

// decodeJSON reads one JSON object from the body into v.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("body larger than %d bytes", tooBig.Limit)
		}
		return fmt.Errorf("body is not the expected JSON: %v", err)
	}
	return nil
}
