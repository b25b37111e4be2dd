package chatcore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/syncd-dev/syncd/chat"
)

// Publish pushes committed messages to the agents of every instance: at
// once to this instance's sockets, and through the broker to the others. It
// never blocks on the broker; it fails only when the messages cannot be
// encoded. It implements bridge.Publisher.
func (c *Core) Publish(ctx context.Context, msgs []chat.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		out[i] = Message{Message: m}
		if m.SenderType == chat.SenderCustomer && c.o.Assignment.Enabled {
			c.kickAssign() // a customer may wait in a new or reopened conversation
		}
	}
	return c.publishMessages(ctx, out)
}

// maxEventBytes bounds one event on the broker: a batch's messages go in
// as many events as it takes.
const maxEventBytes = 1 << 20

// publishMessages is Publish for messages of the console's own. Other
// instances get the messages as this instance's sockets got them (a
// message too large for a frame as its preview).
func (c *Core) publishMessages(ctx context.Context, msgs []Message) error {
	fs, sent, err := c.deliverMessages(msgs)
	if err != nil {
		return err
	}
	start, size := 0, 0
	for i, f := range fs {
		if i > start && size+f.size > maxEventBytes {
			if err := c.publish(ctx, event{Origin: c.o.Instance, Messages: sent[start:i]}); err != nil {
				return err
			}
			start, size = i, 0
		}
		size += f.size
	}
	return c.publish(ctx, event{Origin: c.o.Instance, Messages: sent[start:]})
}

// frameLimit is the largest message frame sent whole: a quarter of a
// socket's send queue, so that a burst of large messages does not drop
// healthy sockets as too slow.
func (c *Core) frameLimit() int { return max(c.o.SendQueueBytes/4, 1024) }

func (c *Core) deliverMessages(msgs []Message) ([]*frame, []Message, error) {
	fs, sent, err := messageFrames(msgs, c.frameLimit())
	if err != nil {
		return nil, nil, fmt.Errorf("publish messages: %w", err)
	}
	c.hub.broadcast(fs)
	return fs, sent, nil
}

// event is what instances send each other through the broker. Origin
// must stay the first field: receivers skip their own events by prefix.
type event struct {
	Origin   string    `json:"origin"`
	Messages []Message `json:"messages,omitempty"`
	// Conversation changed (state, assignee, read marker); each instance
	// renders it for each of its agents.
	Conversation *Conversation `json:"conversation,omitempty"`
	// Username, when set, limits the event to that agent's sockets.
	Username string `json:"username,omitempty"`
	// Typing: an agent types (or stopped) in a conversation.
	Typing *typingEvent `json:"typing,omitempty"`
}

// publish hands an event to the publisher goroutine, dropping it when the
// buffer is full.
func (c *Core) publish(ctx context.Context, ev event) error {
	p, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	select {
	case c.outbox <- p:
	default:
		if c.publishDropped.Add(1) == 1 {
			c.log.LogAttrs(ctx, slog.LevelWarn, "console publish buffer full; dropping events until it drains (the sweep covers them)")
		}
	}
	return nil
}

// publishLoop sends events to the broker. After a failure it drops events
// for a while, doubling the pause up to 5s, so that an outage neither
// blocks the relay nor floods the log; the sweep delivers what was dropped.
func (c *Core) publishLoop(ctx context.Context) {
	const minPause, maxPause = 100 * time.Millisecond, 5 * time.Second
	var pausedUntil time.Time
	pause := minPause
	failing := false
	var dropped int64
	for {
		var p []byte
		select {
		case <-ctx.Done():
			return
		case p = <-c.outbox:
		}
		if time.Now().Before(pausedUntil) {
			dropped++
			c.publishDropped.Add(1)
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.o.Broker.Publish(pctx, p)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			dropped++
			c.publishDropped.Add(1)
			if !failing {
				c.log.LogAttrs(ctx, slog.LevelWarn, "console broker publish failed; pausing", slog.Any("error", err))
			}
			failing = true
			pausedUntil = time.Now().Add(pause)
			pause = min(2*pause, maxPause)
		case err == nil && failing:
			c.log.LogAttrs(ctx, slog.LevelInfo, "console broker publish recovered", slog.Int64("dropped", dropped))
			failing, pause, dropped = false, minPause, 0
		}
	}
}

// receive handles an event from the broker.
func (c *Core) receive(ctx context.Context, p []byte) {
	if bytes.HasPrefix(p, c.own) {
		return // our own, delivered locally when published; not even decoded
	}
	var ev event
	if err := json.Unmarshal(p, &ev); err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "console broker: bad event", slog.Any("error", err))
		return
	}
	if ev.Origin == c.o.Instance {
		return
	}
	if len(ev.Messages) > 0 {
		if _, _, err := c.deliverMessages(ev.Messages); err != nil {
			c.log.LogAttrs(ctx, slog.LevelWarn, "console broker: deliver messages", slog.Any("error", err))
		}
	}
	if ev.Typing != nil {
		c.heardTyping(*ev.Typing)
	}
	if ev.Conversation != nil {
		// Rendering it reads the database, which must not hold up the
		// messages behind it on the broker.
		select {
		case c.changes <- convChange{conv: *ev.Conversation, only: ev.Username}:
		default:
			c.dropChange(ctx)
		}
	}
}

// dropChange counts a conversation change that could not be queued for
// rendering; the sweep covers what it carried.
func (c *Core) dropChange(ctx context.Context) {
	if c.changesDropped.Add(1) == 1 {
		c.log.LogAttrs(ctx, slog.LevelWarn, "console: conversation changes arrive faster than they render; dropping some (the sweep covers them)")
	}
}

// convChange is a changed conversation to show: announced here or heard
// from another instance. only, when set, limits it to one agent's sockets.
type convChange struct {
	conv Conversation
	only string
}

// changeBatch is the most changes rendered together.
const changeBatch = 64

// renderChanges renders the queued conversation changes, a batch at a
// time, until ctx is done. It alone sends the frames of changes, so their
// frames leave in the order their conversations were read.
func (c *Core) renderChanges(ctx context.Context) {
	for {
		var first convChange
		select {
		case <-ctx.Done():
			return
		case first = <-c.changes:
		}
		batch := []convChange{first}
	drain:
		for len(batch) < changeBatch {
			select {
			case ch := <-c.changes:
				batch = append(batch, ch)
			default:
				break drain
			}
		}
		c.renderBatch(ctx, batch)
	}
}

// renderBatch delivers a batch of changes. A frame is a snapshot of the
// whole conversation, and a snapshot that waited in the queue may be older
// than the database, so each conversation is sent once, as the database
// has it now (the announced snapshot if that read fails): to everyone here
// when any change was for everyone, else to the agents the changes were
// for. Changes for agents with no socket here cost nothing.
func (c *Core) renderBatch(ctx context.Context, batch []convChange) {
	online := c.hub.byUser()
	type audience struct {
		all   bool
		users []string
	}
	var keys []string
	latest := make(map[string]Conversation)
	to := make(map[string]*audience)
	for _, ch := range batch {
		if ch.only != "" && len(online[ch.only]) == 0 {
			continue
		}
		k := ch.conv.Key
		a := to[k]
		if a == nil {
			a = &audience{}
			to[k] = a
			keys = append(keys, k)
		}
		latest[k] = ch.conv
		if ch.only == "" {
			a.all = true
		} else if !slices.Contains(a.users, ch.only) {
			a.users = append(a.users, ch.only)
		}
	}
	if len(keys) == 0 || len(online) == 0 {
		return
	}
	c.renderMu.Lock()
	defer c.renderMu.Unlock()
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	fresh, err := c.store.ConversationsByKey(qctx, keys)
	cancel()
	if err != nil && ctx.Err() == nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "console: reload changed conversations; sending the announced state", slog.Any("error", err))
	}
	for _, cv := range fresh {
		latest[cv.Key] = cv
	}
	var all []Conversation
	var users []string
	mine := make(map[string][]Conversation)
	for _, k := range keys {
		a := to[k]
		if a.all {
			all = append(all, latest[k])
			continue
		}
		for _, u := range a.users {
			if mine[u] == nil {
				users = append(users, u)
			}
			mine[u] = append(mine[u], latest[k])
		}
	}
	if len(all) > 0 {
		c.deliverConversations(ctx, all, "")
	}
	for _, u := range users {
		c.deliverConversations(ctx, mine[u], u)
	}
}

// announce tells every instance that a conversation changed; with username
// set, only that agent's sockets hear of it. This instance's sockets get it
// through the renderer, after the changes queued before it.
func (c *Core) announce(ctx context.Context, conv Conversation, username string) {
	conv = conv.ForAgent(0)
	select {
	case c.changes <- convChange{conv: conv, only: username}:
	case <-ctx.Done():
		c.dropChange(ctx)
	}
	if err := c.publish(ctx, event{Origin: c.o.Instance, Conversation: &conv, Username: username}); err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "announce conversation", slog.Any("error", err))
	}
}

// deliverConversations sends conversation frames to this instance's
// sockets, each with its agent's read marker. With only set, only that
// agent's sockets get them.
func (c *Core) deliverConversations(ctx context.Context, convs []Conversation, only string) {
	users := c.hub.byUser()
	if only != "" {
		users = map[string][]*conn{only: users[only]}
	}
	names := make([]string, 0, len(users))
	for u, conns := range users {
		if len(conns) > 0 {
			names = append(names, u)
		}
	}
	if len(names) == 0 || len(convs) == 0 {
		return
	}
	keys := make([]string, len(convs))
	now := c.now()
	convs = slices.Clone(convs)
	for i, cv := range convs {
		keys[i] = cv.Key
		convs[i] = c.withDue(cv, now)
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	marks, err := c.store.ReadMarkers(qctx, keys, names)
	cancel()
	if err != nil {
		// Send them anyway: read_seq 0 shows too much unread until the next
		// list reload, which is better than not showing the change.
		c.log.LogAttrs(ctx, slog.LevelWarn, "console: read markers", slog.Any("error", err))
	}
	// Agents with the same read marker (most often none) share a frame.
	type view struct {
		i       int
		readSeq int64
	}
	frames := make(map[view]*frame)
	for _, u := range names {
		fs := make([]*frame, 0, len(convs))
		for i, cv := range convs {
			v := view{i, marks[ReadKey{Username: u, ConversationKey: cv.Key}]}
			f, ok := frames[v]
			if !ok {
				var err error
				if f, err = newConversationFrame(cv.ForAgent(v.readSeq)); err != nil {
					c.log.LogAttrs(ctx, slog.LevelWarn, "console: encode conversation", slog.String("conversation_key", cv.Key), slog.Any("error", err))
					continue
				}
				frames[v] = f
			}
			fs = append(fs, f)
		}
		for _, cn := range users[u] {
			cn.send(fs...)
		}
	}
}
