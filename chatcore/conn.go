package chatcore

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncd-dev/syncd/chatcore/session"
)

// WebSocket close codes of the console protocol, beside the standard 1001
// (websocket.CloseGoingAway) sent when the server shuts down.
const (
	CloseNotAuthenticated = 4001
	CloseTooSlow          = 4008
	CloseTooManySockets   = 4029 // the agent has Options.MaxSocketsPerAgent open
)

// closeGrace bounds the wait for a close frame to be written and answered.
const closeGrace = time.Second

// conn is one agent's WebSocket. It runs exactly two goroutines, both owned
// by the hub: readLoop reads the client's frames (pings) and notices when
// the client goes; writeLoop is the only goroutine that writes data, taking
// frames from the queue, pinging, and closing.
type conn struct {
	h        *hub
	ws       *websocket.Conn
	nc       *corkConn // ws's network connection
	username string
	sess     session.Session
	q        sendQueue
	wake     chan struct{} // cap 1: the queue has something, or is closing
	readDone chan struct{} // closed when readLoop returns

	// watching is the conversation the console shows (a watch frame), for
	// typing frames; typing is readLoop's limiter of the console's own.
	watching atomic.Pointer[string]
	typing   typingLimiter
}

func newConn(h *hub, ws *websocket.Conn, nc *corkConn, s session.Session) *conn {
	return &conn{
		h:        h,
		ws:       ws,
		nc:       nc,
		username: s.Username,
		sess:     s,
		q:        sendQueue{limit: h.o.SendQueueBytes},
		wake:     make(chan struct{}, 1),
		readDone: make(chan struct{}),
	}
}

// send queues frames for the client without blocking. A client whose queue
// overflows is closed with 4008.
func (c *conn) send(fs ...*frame) {
	if !c.q.push(fs...) {
		c.h.slowClosed.Add(1)
		c.h.log.LogAttrs(context.Background(), slog.LevelInfo, "websocket client too slow; disconnecting",
			slog.String("username", c.username), slog.Int("send_queue_bytes", c.q.limit))
		c.cutWrite()
	}
	c.signal()
}

// close asks the writer to send a close frame with code and stop.
func (c *conn) close(code int, text string) {
	if c.q.close(code, text) {
		c.cutWrite()
		c.signal()
	}
}

// cutWrite shortens a write that may be blocked on a client that does not
// read, so that closing does not wait for the full write timeout.
func (c *conn) cutWrite() {
	_ = c.nc.SetWriteDeadline(time.Now().Add(closeGrace))
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop writes queued frames and pings until the connection closes.
func (c *conn) writeLoop() {
	defer c.h.done(c)
	defer c.ws.Close() // stops readLoop's blocked read
	ping := time.NewTicker(c.h.o.PingInterval)
	defer ping.Stop()
	var spare []*frame // the slice the queue used before; see take
	for {
		select {
		case <-c.readDone:
			return
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.o.WriteTimeout)); err != nil {
				return
			}
			continue
		case <-c.wake:
		}
		fs, closing, code, text := c.q.take(spare)
		spare = fs
		if !c.writeFrames(fs) {
			return
		}
		if !closing && c.q.isClosing() {
			_, closing, code, text = c.q.take(nil)
		}
		if closing {
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(closeGrace))
			// Give the client a moment to answer, so that it reads the close
			// frame before the TCP connection goes.
			t := time.NewTimer(closeGrace)
			select {
			case <-c.readDone:
			case <-t.C:
			}
			t.Stop()
			return
		}
	}
}

// writeFrames writes fs, with one system call when there are several. It
// reports false when the connection failed.
func (c *conn) writeFrames(fs []*frame) bool {
	if len(fs) == 0 {
		return true
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.h.o.WriteTimeout))
	if len(fs) > 1 {
		c.nc.cork()
	}
	n := 0
	for _, f := range fs {
		if c.q.isClosing() {
			break
		}
		if err := c.ws.WritePreparedMessage(f.pm); err != nil {
			_ = c.nc.flush()
			return false
		}
		n++
	}
	if len(fs) > 1 {
		if err := c.nc.flush(); err != nil {
			return false
		}
	}
	for _, f := range fs[:n] {
		c.q.written(f)
	}
	return true
}

// readLoop reads the client's frames (ping, watch, typing) until an error,
// which includes the client's close frame and writeLoop closing the
// connection.
func (c *conn) readLoop() {
	defer c.h.wg.Done()
	defer close(c.readDone)
	wait := 2 * c.h.o.PingInterval
	c.ws.SetReadLimit(c.h.o.MaxFrameBytes)
	_ = c.ws.SetReadDeadline(time.Now().Add(wait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(wait)) })
	for {
		typ, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(wait))
		if typ != websocket.TextMessage {
			continue
		}
		var in clientFrame
		if err := json.NewDecoder(r).Decode(&in); err != nil && err != io.EOF {
			continue // not ours to fix: nothing else reads it
		}
		switch in.Type {
		case "ping":
			c.send(pongFrame)
		case "watch":
			if validWatchKey(in.ConversationKey) {
				key := in.ConversationKey
				c.watching.Store(&key)
			}
		case "typing":
			c.h.clientTyping(c, in)
		}
	}
}
