package chatcore

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncd-dev/syncd/chatcore/session"
)

// serveWS upgrades GET /ws for an agent with a session. A handshake from a
// foreign origin is refused with 403. One without a valid session is
// accepted and closed at once with 4001, since a browser cannot read the
// status of a refused handshake; a plain request without a session gets 401.
func (c *Core) serveWS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	if !c.originAllowed(r) {
		writeError(w, http.StatusForbidden, "origin not allowed")
		return
	}
	au, err := c.authenticate(r)
	if err != nil && !errors.Is(err, session.ErrBad) {
		c.serverError(w, r, "authenticate websocket", err)
		return
	}
	if err != nil {
		if !websocket.IsWebSocketUpgrade(r) {
			writeError(w, http.StatusUnauthorized, "not logged in")
			return
		}
		ws, err := c.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered
		}
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(CloseNotAuthenticated, "not authenticated"), time.Now().Add(closeGrace))
		_ = ws.Close()
		return
	}
	cw := &corkWriter{ResponseWriter: w}
	ws, err := c.upgrader.Upgrade(cw, r, nil)
	if err != nil {
		return
	}
	if tc, ok := tcpConn(cw.conn.Conn); ok && c.o.SocketSendBuffer > 0 {
		_ = tc.SetWriteBuffer(c.o.SocketSendBuffer)
	}
	hello, err := newFrame(helloFrame{Type: "hello", Username: au.agent.Username, Instance: c.o.Instance})
	if err != nil {
		c.log.LogAttrs(r.Context(), slog.LevelError, "console: hello frame", slog.Any("error", err))
		_ = ws.Close()
		return
	}
	cn := newConn(c.hub, ws, cw.conn, au.sess)
	cn.send(hello) // first, before any broadcast can reach the queue
	if err := c.hub.register(cn); err != nil {
		code := websocket.CloseGoingAway
		if errors.Is(err, errTooManySocket) {
			code = CloseTooManySockets
			c.log.LogAttrs(r.Context(), slog.LevelInfo, "websocket refused: too many for one agent",
				slog.String("username", au.agent.Username), slog.Int("max", c.o.MaxSocketsPerAgent))
		}
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(code, err.Error()), time.Now().Add(closeGrace))
		_ = ws.Close()
	}
}

// tcpConn finds the TCP connection under c, through listener wrappers that
// expose it as NetConn (connlimit's, crypto/tls's).
func tcpConn(c net.Conn) (*net.TCPConn, bool) {
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			return v, true
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil, false
		}
	}
}
