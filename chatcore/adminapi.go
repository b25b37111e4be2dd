package chatcore

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/syncd-dev/syncd/chatcore/credentials"
)

// AgentAdminStore is what the agent list and the admins' agent management
// read and write (the same rules as `syncd agent`).
type AgentAdminStore interface {
	// ListAgents returns every agent, disabled ones too, by username.
	ListAgents(ctx context.Context) ([]Agent, error)
	// AddAgent creates an agent with a bcrypt hash; an existing username
	// is ErrExists.
	AddAgent(ctx context.Context, username, passwordHash string, admin bool) error
	// SetAgentDisabled disables or enables an agent and ends its
	// sessions; disabling the last enabled admin is ErrLastAdmin.
	SetAgentDisabled(ctx context.Context, username string, disabled bool) error
	// SetAgentPassword sets a new hash and ends the agent's sessions.
	SetAgentPassword(ctx context.Context, username, passwordHash string) error
	// SetAgentAdmin grants or revokes admin; revoking the last enabled
	// admin is ErrLastAdmin.
	SetAgentAdmin(ctx context.Context, username string, admin bool) error
}

// agentWire is an agent in GET /api/agents and the admin routes.
type agentWire struct {
	Username  string     `json:"username"`
	Admin     bool       `json:"admin"`
	Online    bool       `json:"online"`
	Disabled  bool       `json:"disabled,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

// agentsOnline lists agents with who is online; all includes the disabled.
func (c *Core) agentsOnline(ctx context.Context, all bool) ([]agentWire, error) {
	as, err := c.store.ListAgents(ctx)
	if err != nil {
		return nil, err
	}
	names, err := c.o.Presence.Online(ctx)
	if err != nil {
		// What this instance knows still helps; the rest shows offline.
		c.log.LogAttrs(ctx, slog.LevelWarn, "console presence unavailable", slog.Any("error", err))
	}
	online := make(map[string]bool, len(names))
	for _, n := range names {
		online[n] = true
	}
	out := make([]agentWire, 0, len(as))
	for _, a := range as {
		if a.Disabled && !all {
			continue
		}
		w := agentWire{Username: a.Username, Admin: a.Admin, Online: online[a.Username] && !a.Disabled, Disabled: a.Disabled}
		if all {
			t := a.CreatedAt.UTC()
			w.CreatedAt = &t
		}
		out = append(out, w)
	}
	return out, nil
}

// handleAgents is GET /api/agents: the active agents, for handing a
// conversation over.
func (c *Core) handleAgents(w http.ResponseWriter, r *http.Request) {
	out, err := c.agentsOnline(r.Context(), false)
	if err != nil {
		c.serverError(w, r, "list agents", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

// handleAdminAgents is GET /api/admin/agents: every agent, disabled too.
func (c *Core) handleAdminAgents(w http.ResponseWriter, r *http.Request) {
	out, err := c.agentsOnline(r.Context(), true)
	if err != nil {
		c.serverError(w, r, "list agents", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

// handleAddAgent is POST /api/admin/agents {"username", "password", "admin"}.
func (c *Core) handleAddAgent(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Admin    bool   `json:"admin"`
	}
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name := credentials.NormalizeUsername(req.Username)
	if err := credentials.ValidateUsername(name); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	hash, ok := c.hashPassword(w, r, req.Password)
	if !ok {
		return
	}
	err := c.store.AddAgent(r.Context(), name, hash, req.Admin)
	if errors.Is(err, ErrExists) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "agent " + name + " exists already", "code": "exists"})
		return
	}
	if err != nil {
		c.serverError(w, r, "add agent", err)
		return
	}
	c.logAdmin(r, "agent added", name)
	c.answerAgent(w, r, http.StatusCreated, name)
}

// hashPassword checks the password rules and hashes it, or answers 400.
func (c *Core) hashPassword(w http.ResponseWriter, r *http.Request, pw string) (string, bool) {
	hash, err := credentials.HashPassword(pw)
	if errors.Is(err, credentials.ErrInvalid) {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	if err != nil {
		c.serverError(w, r, "hash password", err)
		return "", false
	}
	return hash, true
}

// handleAgentChange is POST /api/admin/agents/{username}/{disable,enable,password,role}.
func (c *Core) handleAgentChange(w http.ResponseWriter, r *http.Request) {
	name := credentials.NormalizeUsername(r.PathValue("username"))
	ctx := r.Context()
	var err error
	switch action := r.PathValue("action"); action {
	case "disable", "enable":
		err = c.store.SetAgentDisabled(ctx, name, action == "disable")
	case "password":
		var req struct {
			Password string `json:"password"`
		}
		if err := decodeJSON(r, &req); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		// bcrypt is slow by design: not for an agent that does not exist.
		if _, err := c.store.Agent(ctx, name); errors.Is(err, ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such agent: "+name)
			return
		}
		hash, ok := c.hashPassword(w, r, req.Password)
		if !ok {
			return
		}
		err = c.store.SetAgentPassword(ctx, name, hash)
	case "role":
		var req struct {
			Admin *bool `json:"admin"`
		}
		if err := decodeJSON(r, &req); err != nil || req.Admin == nil {
			writeError(w, http.StatusBadRequest, `give {"admin": true} or {"admin": false}`)
			return
		}
		err = c.store.SetAgentAdmin(ctx, name, *req.Admin)
	default:
		writeError(w, http.StatusNotFound, "no such endpoint")
		return
	}
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "no such agent: "+name)
		return
	case errors.Is(err, ErrLastAdmin):
		writeJSON(w, http.StatusConflict, map[string]string{"error": name + " is the only admin: make another agent admin first", "code": "last_admin"})
		return
	case err != nil:
		c.serverError(w, r, "change agent", err)
		return
	}
	c.logAdmin(r, "agent "+r.PathValue("action"), name)
	c.answerAgent(w, r, http.StatusOK, name)
}

// answerAgent answers with the agent as it is now.
func (c *Core) answerAgent(w http.ResponseWriter, r *http.Request, status int, name string) {
	all, err := c.agentsOnline(r.Context(), true)
	if err != nil {
		c.serverError(w, r, "list agents", err)
		return
	}
	for _, a := range all {
		if a.Username == name {
			writeJSON(w, status, map[string]any{"agent": a})
			return
		}
	}
	writeError(w, http.StatusNotFound, "no such agent: "+name)
}

// logAdmin records who changed which agent: an audit trail in the logs.
func (c *Core) logAdmin(r *http.Request, what, name string) {
	c.log.LogAttrs(r.Context(), slog.LevelInfo, "console admin: "+what,
		slog.String("admin", agentFrom(r.Context()).agent.Username), slog.String("agent", name))
}
