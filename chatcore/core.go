package chatcore

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chatcore/session"
)

var _ bridge.Publisher = (*Core)(nil)

// ErrClosed is returned by Run after Close, or when Run is called twice.
var ErrClosed = errors.New("chatcore: closed")

// Core is the console's server side on one instance. Build it with New,
// serve Handler, run Run until shutdown.
type Core struct {
	o        Options
	store    DB
	log      *slog.Logger
	hub      *hub
	sessions *session.Codec
	logins   *loginLimiter
	proxies  proxies
	// publicOrigin is Options.PublicURL's origin; hosts the names
	// accepted in the Host header besides localhost and IP addresses.
	publicOrigin string
	hosts        []string
	upgrader     websocket.Upgrader
	sweep        *sweeper
	outbox       chan []byte     // events for the broker
	changes      chan convChange // conversations to show: announced here or heard
	own          []byte          // how this instance's events start, to skip them

	// renderMu is held from reading conversations to sending their frames,
	// by the renderer of changes and by the sweep, so a frame built from an
	// older read never follows one built from a newer read.
	renderMu sync.Mutex

	mu     sync.Mutex
	state  int // runNew, runRunning, runStopped
	cancel context.CancelFunc
	done   chan struct{} // closed when Run (or Close before Run) is over

	publishDropped atomic.Int64
	changesDropped atomic.Int64

	// Auto-assignment and the response-time rules (assign.go, sla.go).
	now         func() time.Time
	kick        chan struct{} // cap 1: assign now
	slaRules    atomic.Pointer[SLARules]
	breachFirst atomic.Int64
	breachReply atomic.Int64
	returned    atomic.Int64
	assigned    atomic.Int64
}

const (
	runNew = iota
	runRunning
	runStopped
)

// New checks opts and builds a Core. It starts nothing: connections are
// accepted at once, pushes flow once Run runs.
func New(opts Options) (*Core, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Core{
		o:        o,
		store:    o.DB,
		log:      o.Logger,
		sessions: session.NewCodec(o.SessionSecret, o.SessionTTL),
		proxies:  proxies(o.TrustedProxies),
		outbox:   make(chan []byte, o.PublishBuffer),
		changes:  make(chan convChange, o.PublishBuffer),
		done:     make(chan struct{}),
		now:      o.Now,
		kick:     make(chan struct{}, 1),
	}
	rules := o.SLA
	c.slaRules.Store(&rules)
	c.logins = newLoginLimiter(&c.o)
	c.publicOrigin, c.hosts = originsAndHosts(o)
	origin, _ := json.Marshal(o.Instance)
	c.own = append(append([]byte(`{"origin":`), origin...), ',')
	c.hub = newHub(&c.o)
	c.hub.onTyping = c.typing
	c.sweep = newSweeper(c)
	c.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   512, // clients send only small frames (ping, watch, typing)
		// Data frames are prepared once and written straight to the socket;
		// a pool keeps idle connections from holding a write buffer each.
		WriteBufferPool: &sync.Pool{},
		// Origins are checked before the upgrade, with the API's rule.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return c, nil
}

// Run runs the broker subscription, the broker publisher, the renderer of
// conversation changes, the sweep and the presence heartbeat until
// ctx is done; then it closes every WebSocket with 1001, waits for all its
// goroutines and returns nil. It may be called once.
func (c *Core) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.state != runNew {
		c.mu.Unlock()
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	c.state, c.cancel = runRunning, cancel
	c.mu.Unlock()
	defer func() {
		cancel()
		c.mu.Lock()
		c.state = runStopped
		c.mu.Unlock()
		close(c.done)
	}()

	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.o.Broker.Subscribe(ctx, func(p []byte) { c.receive(ctx, p) }); err != nil {
			c.log.LogAttrs(ctx, slog.LevelError, "console broker subscription failed; relying on the sweep", slog.Any("error", err))
		}
	})
	wg.Go(func() { c.publishLoop(ctx) })
	wg.Go(func() { c.renderChanges(ctx) })
	wg.Go(func() { c.sweep.loop(ctx) })
	wg.Go(func() {
		if err := c.o.Presence.Run(ctx); err != nil {
			c.log.LogAttrs(ctx, slog.LevelError, "console presence stopped", slog.Any("error", err))
		}
	})
	wg.Go(func() { c.workLoop(ctx) })
	<-ctx.Done()
	c.hub.shutdown()
	wg.Wait()
	return nil
}

// Close stops Run and waits until it has returned; before Run it closes the
// connections accepted so far. Safe to call more than once.
func (c *Core) Close() error {
	c.mu.Lock()
	switch c.state {
	case runNew:
		c.state = runStopped
		c.mu.Unlock()
		c.hub.shutdown()
		close(c.done)
	case runRunning:
		cancel := c.cancel
		c.mu.Unlock()
		cancel()
		<-c.done
	default:
		c.mu.Unlock()
		<-c.done
	}
	return nil
}

// Stats are counters for metrics and tests.
type Stats struct {
	Connections    int   // open WebSockets
	SlowClosed     int64 // closed with 4008 since start
	PublishDropped int64 // events not handed to the broker (outage, full buffer)
	ChangesDropped int64 // conversation changes not rendered (full queue)
	TypingDropped  int64 // typing frames over a socket's limit
	Logins         LoginStats
	SLA            SLAStats
}

// Stats returns the current counters.
func (c *Core) Stats() Stats {
	return Stats{
		Connections:    c.hub.count(),
		SlowClosed:     c.hub.slowClosed.Load(),
		PublishDropped: c.publishDropped.Load(),
		ChangesDropped: c.changesDropped.Load(),
		TypingDropped:  c.hub.typingDropped.Load(),
		Logins:         c.logins.stats(),
		SLA: SLAStats{FirstResponseBreaches: c.breachFirst.Load(), ReplyBreaches: c.breachReply.Load(),
			Returned: c.returned.Load(), AutoAssigned: c.assigned.Load()},
	}
}
