package chatcore

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// hub owns the connections of one instance: it registers them, fans frames
// out to them, and closes and waits for them on shutdown.
type hub struct {
	o   *Options
	log *slog.Logger

	mu      sync.RWMutex
	conns   map[*conn]struct{}
	perUser map[string]int
	closed  bool
	wg      sync.WaitGroup // two per connection: reader and writer

	slowClosed atomic.Int64

	// onTyping passes on a typing frame a socket's limiter let through
	// (Core.typing); typingDropped counts those it did not.
	onTyping      func(*conn, typingEvent)
	typingDropped atomic.Int64
}

func newHub(o *Options) *hub {
	return &hub{o: o, log: o.Logger, conns: map[*conn]struct{}{}, perUser: map[string]int{}}
}

// Reasons register refuses a connection.
var (
	errHubClosed     = errors.New("server shutting down")
	errTooManySocket = errors.New("too many sockets for this agent")
)

// register adds c and starts its goroutines. It refuses, leaving c alone,
// when the hub has shut down or c's agent has MaxSocketsPerAgent already.
func (h *hub) register(c *conn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errHubClosed
	}
	if h.perUser[c.username] >= h.o.MaxSocketsPerAgent {
		return errTooManySocket
	}
	h.perUser[c.username]++
	h.conns[c] = struct{}{}
	h.o.Presence.Connect(c.username)
	h.wg.Add(2)
	go c.writeLoop()
	go c.readLoop()
	return nil
}

// done is the writer's exit: c leaves the hub.
func (h *hub) done(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	if n := h.perUser[c.username] - 1; n > 0 {
		h.perUser[c.username] = n
	} else {
		delete(h.perUser, c.username)
	}
	h.mu.Unlock()
	h.o.Presence.Disconnect(c.username)
	h.wg.Done()
}

// broadcast queues fs on every connection.
func (h *hub) broadcast(fs []*frame) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.conns {
		c.send(fs...)
	}
}

// byUser returns the open connections grouped by agent.
func (h *hub) byUser() map[string][]*conn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make(map[string][]*conn)
	for c := range h.conns {
		out[c.username] = append(out[c.username], c)
	}
	return out
}

// count returns the number of open connections.
func (h *hub) count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// shutdown refuses new connections, closes the open ones with 1001 and
// waits until all their goroutines have returned. Safe to call twice.
func (h *hub) shutdown() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close(websocket.CloseGoingAway, "server shutting down")
	}
	h.wg.Wait()
}
