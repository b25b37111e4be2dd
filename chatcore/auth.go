package chatcore

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncd-dev/syncd/chatcore/credentials"
	"github.com/syncd-dev/syncd/chatcore/session"
)

// AgentStore is what authentication reads.
type AgentStore interface {
	// Agent returns one agent, or an error wrapping ErrNotFound.
	Agent(ctx context.Context, username string) (Agent, error)
	// Agents returns those of the named agents that exist.
	Agents(ctx context.Context, usernames []string) ([]Agent, error)
}

type agentKey struct{}

// authed is the agent a request was authenticated as.
type authed struct {
	agent Agent
	sess  session.Session
}

func agentFrom(ctx context.Context) authed {
	a, _ := ctx.Value(agentKey{}).(authed)
	return a
}

// sessionValid reports whether a session still belongs to the agent as it
// is now: enabled, same session_version.
func sessionValid(s session.Session, a Agent) bool {
	return !a.Disabled && a.SessionVersion == s.Version && a.Username == s.Username
}

// authenticate checks the request's session cookie against the database.
func (c *Core) authenticate(r *http.Request) (authed, error) {
	ck, err := r.Cookie(session.CookieName)
	if err != nil {
		return authed{}, session.ErrBad
	}
	s, err := c.sessions.Decode(ck.Value, time.Now())
	if err != nil {
		return authed{}, err
	}
	a, err := c.store.Agent(r.Context(), s.Username)
	if errors.Is(err, ErrNotFound) {
		return authed{}, session.ErrBad
	}
	if err != nil {
		return authed{}, err
	}
	if !sessionValid(s, a) {
		return authed{}, session.ErrBad
	}
	return authed{agent: a, sess: s}, nil
}

// requireSession answers 401 unless the request has a valid session, and
// renews a session that has used up half its time.
func (c *Core) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		au, err := c.authenticate(r)
		if err != nil {
			if !errors.Is(err, session.ErrBad) {
				c.serverError(w, r, "authenticate", err)
				return
			}
			if _, e := r.Cookie(session.CookieName); e == nil {
				http.SetCookie(w, c.sessions.Cookie("", time.Time{}, c.secureCookie(r)))
			}
			writeError(w, http.StatusUnauthorized, "not logged in")
			return
		}
		if time.Until(au.sess.ExpiresAt()) < c.o.SessionTTL/2 {
			c.setSession(w, r, au.agent)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), agentKey{}, au)))
	})
}

// secureCookie reports whether the cookie gets the Secure flag: always with
// Options.SecureCookie, else when the client's request came over TLS.
func (c *Core) secureCookie(r *http.Request) bool {
	return c.o.SecureCookie || c.proxies.secure(r)
}

func (c *Core) setSession(w http.ResponseWriter, r *http.Request, a Agent) {
	s := c.sessions.Issue(a.Username, a.SessionVersion, time.Now())
	v, err := c.sessions.Encode(s)
	if err != nil {
		c.log.LogAttrs(r.Context(), slog.LevelError, "console: encode session", slog.Any("error", err))
		return
	}
	http.SetCookie(w, c.sessions.Cookie(v, s.ExpiresAt(), c.secureCookie(r)))
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// handleLogin checks a username and password (JSON or form body), under
// the login limiter's rules (loginLimiter), and sets the session cookie.
func (c *Core) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if isJSON(r) {
		if err := decodeJSON(r, &req); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			writeError(w, http.StatusBadRequest, "bad form body")
			return
		}
		req.Username, req.Password = r.PostForm.Get("username"), r.PostForm.Get("password")
	}
	username := credentials.NormalizeUsername(req.Username)
	if username == "" || req.Password == "" || len(username) > credentials.MaxUsernameLen || len(req.Password) > credentials.MaxPasswordLen {
		writeError(w, http.StatusUnauthorized, "wrong username or password")
		return
	}
	ip := c.o.ClientIP(r)
	addr := clientKey(ip)
	ctx := r.Context()
	if v := c.logins.address(ctx, addr); v.by != "" {
		c.loginRefused(w, r, v, username, ip)
		return
	}
	// A name no agent can have (bób, which an accent-insensitive
	// collation would find as bob) is not looked up at all.
	var a Agent
	err := credentials.ValidateUsername(username)
	if err == nil {
		a, err = c.store.Agent(ctx, username)
		if err != nil && !errors.Is(err, ErrNotFound) {
			c.serverError(w, r, "login", err)
			return
		}
		name := username
		if err == nil {
			name = a.Username // the agent as the database identifies it
		}
		v := c.logins.agent(ctx, name, addr)
		if v.by != "" {
			c.loginRefused(w, r, v, name, ip)
			return
		}
		if v.slow > 0 {
			t := time.NewTimer(v.slow)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
			c.logins.waited()
			if ctx.Err() != nil {
				return // the client left
			}
		}
	}
	hash := a.PasswordHash
	if err != nil || a.Disabled {
		hash = ""
	}
	if !credentials.Check(hash, req.Password) {
		c.logins.wrong.Add(1)
		c.log.LogAttrs(ctx, slog.LevelInfo, "console login failed",
			slog.String("username", username), slog.String("client_ip", ip))
		writeError(w, http.StatusUnauthorized, "wrong username or password")
		return
	}
	c.logins.succeeded(ctx, a.Username, addr)
	c.setSession(w, r, a)
	c.log.LogAttrs(ctx, slog.LevelInfo, "console login", slog.String("username", a.Username), slog.String("client_ip", ip))
	writeJSON(w, http.StatusOK, map[string]any{"username": a.Username, "admin": a.Admin, "away": a.Away})
}

// loginRefused answers 429 with Retry-After. Refusals are counted, and
// logged at debug only: their number is the attacker's to choose.
func (c *Core) loginRefused(w http.ResponseWriter, r *http.Request, v verdict, username, ip string) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(v.retry.Seconds())))))
	c.log.LogAttrs(r.Context(), slog.LevelDebug, "console login refused by the limiter",
		slog.String("by", v.by), slog.String("username", username), slog.String("client_ip", ip))
	msg := "too many login attempts from your address; try again later"
	if v.by == limitAgent {
		msg = "too many login attempts for this account from new addresses; try again later, or from where you usually log in"
	}
	writeError(w, http.StatusTooManyRequests, msg)
}

// handleLogout clears the cookie. Sessions are stateless, so the cookie
// value stays valid until it expires if someone kept a copy; `syncd agent
// passwd` or `disable` ends every session of an agent.
func (c *Core) handleLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, c.sessions.Cookie("", time.Time{}, c.secureCookie(r)))
	w.WriteHeader(http.StatusNoContent)
}

func (c *Core) handleMe(w http.ResponseWriter, r *http.Request) {
	a := agentFrom(r.Context()).agent
	writeJSON(w, http.StatusOK, map[string]any{"username": a.Username, "admin": a.Admin, "away": a.Away})
}

// checkSessions closes, with 4001, the sockets whose agent can no longer
// log in (disabled, deleted, password changed). A socket whose session
// merely expired is closed normally (1000): the client reconnects with its
// current cookie, renewed meanwhile by its API calls, or gets 4001 then.
func (c *Core) checkSessions(ctx context.Context) error {
	users := c.hub.byUser()
	if len(users) == 0 {
		return nil
	}
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	agents, err := c.store.Agents(ctx, names)
	if err != nil {
		return err
	}
	byName := make(map[string]Agent, len(agents))
	for _, a := range agents {
		byName[a.Username] = a
	}
	now := time.Now()
	for u, conns := range users {
		a, ok := byName[u]
		for _, cn := range conns {
			switch {
			case !ok || !sessionValid(cn.sess, a):
				cn.close(CloseNotAuthenticated, "session ended")
			case !now.Before(cn.sess.ExpiresAt()):
				cn.close(websocket.CloseNormalClosure, "session expired; reconnect")
			}
		}
	}
	return nil
}
