package chatcore

import (
	"context"
	"log/slog"
	"time"
	"unicode/utf8"
)

// "Someone is replying" (docs/protocol.md, typing frames). A console
// tells its socket which conversation it shows (watch) and, while its
// agent types there, sends typing frames, at most one every
// typingClientEvery. The server passes each on, on every instance, to the
// sockets that watch that conversation, and keeps no state: a receiver
// clears the indicator after TypingTTL without a refresh, so a stop frame
// that never came (a closed tab, a lost instance) costs a few seconds.
const (
	// TypingTTL is how long a typing frame holds on a receiver.
	TypingTTL = 6 * time.Second
	// typingBurst and typingRefill bound the typing frames of one socket:
	// a burst of typingBurst, then one per typingRefill; the console sends
	// one every 2 s. Frames past the limit are dropped.
	typingBurst  = 4
	typingRefill = time.Second
	// maxWatchKey is the longest conversation key a client may name
	// (conversations.conversation_key is VARCHAR(191)).
	maxWatchKey = 191
)

// typingFrame is the server's frame to the watchers of a conversation.
type typingFrame struct {
	Type            string `json:"type"` // "typing"
	ConversationKey string `json:"conversation_key"`
	Username        string `json:"username"`
	Typing          bool   `json:"typing"` // false: she stopped or sent
	ExpiresInMS     int64  `json:"expires_in_ms"`
}

// typingEvent carries a typing frame to the other instances.
type typingEvent struct {
	ConversationKey string `json:"conversation_key"`
	Username        string `json:"username"`
	Typing          bool   `json:"typing"`
}

// clientFrame is any frame a console sends.
type clientFrame struct {
	Type            string `json:"type"` // ping, watch, typing
	ConversationKey string `json:"conversation_key"`
	Typing          *bool  `json:"typing"` // typing frames; absent means true
}

// typingLimiter is one socket's token bucket. Only the socket's reader
// uses it.
type typingLimiter struct {
	tokens float64
	at     time.Time
	on     string // the conversation a start was passed on for, until its stop
}

// allow reports whether a start may pass now, taking a token.
func (l *typingLimiter) allow(now time.Time) bool {
	if l.at.IsZero() {
		l.tokens = typingBurst
	} else {
		l.tokens = min(typingBurst, l.tokens+float64(now.Sub(l.at))/float64(typingRefill))
	}
	l.at = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

func validWatchKey(key string) bool {
	return len(key) <= maxWatchKey && utf8.ValidString(key)
}

// clientTyping handles a typing frame from c's console. A stop passes only
// after a start that passed (so stops need no tokens and cannot flood).
func (h *hub) clientTyping(c *conn, in clientFrame) {
	key := in.ConversationKey
	if key == "" || !validWatchKey(key) {
		return
	}
	typing := in.Typing == nil || *in.Typing
	if !typing {
		if c.typing.on != key {
			return
		}
		c.typing.on = ""
	} else {
		if !c.typing.allow(time.Now()) {
			h.typingDropped.Add(1)
			return
		}
		c.typing.on = key
	}
	if h.onTyping != nil {
		h.onTyping(c, typingEvent{ConversationKey: key, Username: c.username, Typing: typing})
	}
}

// typingTo queues f on the sockets that watch key, but except.
func (h *hub) typingTo(key string, except *conn, f *frame) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.conns {
		if c != except {
			if w := c.watching.Load(); w != nil && *w == key {
				c.send(f)
			}
		}
	}
}

func newTypingFrame(ev typingEvent) (*frame, error) {
	return newFrame(typingFrame{Type: "typing", ConversationKey: ev.ConversationKey, Username: ev.Username,
		Typing: ev.Typing, ExpiresInMS: TypingTTL.Milliseconds()})
}

// typing passes a typing frame from one of this instance's sockets on to
// the watchers here and, through the broker, on the other instances.
func (c *Core) typing(from *conn, ev typingEvent) {
	f, err := newTypingFrame(ev)
	if err != nil {
		return
	}
	c.hub.typingTo(ev.ConversationKey, from, f)
	ctx := context.Background() // the socket's reader has no request context
	if err := c.publish(ctx, event{Origin: c.o.Instance, Typing: &ev}); err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "publish typing", slog.Any("error", err))
	}
}

// heardTyping shows another instance's typing frame to the watchers here.
func (c *Core) heardTyping(ev typingEvent) {
	if ev.ConversationKey == "" || !validWatchKey(ev.ConversationKey) {
		return
	}
	if f, err := newTypingFrame(ev); err == nil {
		c.hub.typingTo(ev.ConversationKey, nil, f)
	}
}
