package chatcore

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/syncd-dev/syncd/chatcore/broker"
	"github.com/syncd-dev/syncd/chatcore/loginstate"
	"github.com/syncd-dev/syncd/chatcore/presence"
)

// Options configures a Core. The zero value of every field means its
// default; DB and SessionSecret are required. The config keys in the
// comments are those of syncd's config file.
type Options struct {
	// DB is the console's database (chatstore.New). Required.
	DB DB
	// Broker carries messages between instances. Default: broker.Memory
	// of its own, which is right for a single instance.
	Broker Broker
	// Presence tracks which agents are online across instances. Default:
	// presence.NewMemory, right for a single instance; presence.NewRedis
	// for several.
	Presence Presence
	// Logger receives the core's logs. Default slog.Default().
	Logger *slog.Logger
	// Instance names this Core in the hello frame and on the broker, where
	// it skips its own events; it must differ between the Cores that share
	// a broker. Default "hostname-pid".
	Instance string

	// SessionSecret signs session cookies; every instance needs the same
	// one. At least 32 bytes. console.session_secret; required.
	SessionSecret []byte
	// SessionTTL is how long a session lasts without use; a session used
	// past half of it is renewed. console.session_ttl; default 12h.
	SessionTTL time.Duration
	// SecureCookie sets the cookie's Secure flag on every response, for a
	// server behind a TLS-terminating proxy. Without it the flag is set
	// when the request came over TLS, to this server or to a trusted proxy
	// that says so. console.secure_cookie.
	SecureCookie bool
	// PublicURL is the address agents open ("https://support.example.com"):
	// its origin is allowed and its host accepted. console.public_url.
	PublicURL string
	// AllowedOrigins lists origins ("https://console.example.com") besides
	// the server's own that may send state-changing requests and open the
	// WebSocket. console.allowed_origins.
	AllowedOrigins []string
	// AllowedHosts lists host names accepted in the Host header besides
	// localhost, IP addresses and the hosts of PublicURL and AllowedOrigins.
	// console.allowed_hosts.
	AllowedHosts []string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For,
	// Forwarded and X-Forwarded-Proto headers are believed.
	// console.trusted_proxies.
	TrustedProxies []netip.Prefix
	// ClientIP returns the address login attempts are limited by. Default:
	// the peer, or behind a trusted proxy the client it names.
	ClientIP func(r *http.Request) string

	// SendQueueBytes bounds what may wait to be written to one WebSocket;
	// a client that falls further behind is disconnected with 4008.
	// console.send_queue_bytes; default 256 KiB.
	SendQueueBytes int
	// SocketSendBuffer sets SO_SNDBUF on each WebSocket's TCP connection,
	// so that the kernel holds little beyond the send queue for a client
	// that stops reading (Linux would otherwise let it grow to megabytes
	// before the queue even starts to fill). -1 leaves the kernel's
	// autotuning alone. Default 64 KiB.
	SocketSendBuffer int
	// MaxFrameBytes is the read limit for a frame from a client.
	// Default 4 KiB (clients only send pings).
	MaxFrameBytes int64
	// PingInterval is how often the server pings each WebSocket; a client
	// silent for two intervals is dropped. console.ping_interval; default 30s.
	PingInterval time.Duration
	// WriteTimeout bounds one write to a WebSocket. Default 10s.
	WriteTimeout time.Duration
	// MaxSocketsPerAgent bounds one agent's WebSockets on this instance
	// (its tabs); one more is closed with 4029. Default 32.
	MaxSocketsPerAgent int

	// SweepInterval is how often conversations whose last_seq or state
	// moved are re-read and pushed. console.sweep_interval; default 2s.
	SweepInterval time.Duration
	// SweepLookback is how far behind the newest updated_at seen the sweep
	// looks again, to catch transactions that committed late or clocks a
	// little apart. console.sweep_lookback; default 15s.
	SweepLookback time.Duration

	// LoginUserBurst login attempts for one agent from one client address
	// are allowed at once, and one more every LoginUserEvery; a login that
	// succeeds from the address starts it again. Defaults 5 and 12s.
	LoginUserBurst int
	LoginUserEvery time.Duration
	// LoginAgentBurst attempts for one agent from addresses it has not
	// logged in from are allowed at once (one more every LoginUserEvery);
	// beyond, such addresses are refused while the agent's known ones are
	// answered after LoginSlowDelay. Defaults 20 and 2s.
	LoginAgentBurst int
	LoginSlowDelay  time.Duration
	// LoginKnownFor is how long an address an agent logged in from stays
	// known. Default 30 days.
	LoginKnownFor time.Duration
	// LoginIPBurst login attempts per client address are allowed at once,
	// and one more every LoginIPEvery. Defaults 20 and 3s.
	LoginIPBurst int
	LoginIPEvery time.Duration
	// LoginState keeps the limiter's buckets and known addresses.
	// Default: this process's memory; loginstate.NewRedis shares them
	// between instances.
	LoginState LoginState

	// Intents returns the intents an agent may label a message with (the
	// bot's model's classes). Nil, or an empty list: labelling is refused.
	Intents func() []string

	// Ops serves the admins' ops page (the relay's backlog, requeue);
	// nil: its routes answer 503.
	Ops Ops

	// Assignment configures auto-assignment (console.assignment); off by
	// default.
	Assignment Assignment
	// SLA are the configured response-time targets (console.sla); rules an
	// admin saves in the console replace them. Zero: off.
	SLA SLARules
	// Now is the clock of auto-assignment and the response-time rules.
	// Default time.Now; tests move it.
	Now func() time.Time

	// PublishBuffer is how many published batches may wait for the broker,
	// and how many conversation changes may wait to be rendered; beyond it
	// they are dropped (the sweep covers them). Default 4096.
	PublishBuffer int
}

// MaxCapacity bounds console.assignment.capacity.
const MaxCapacity = 1000

// MinSessionSecret is the shortest accepted console.session_secret.
const MinSessionSecret = 32

func (o Options) withDefaults() (Options, error) {
	if o.DB == nil {
		return o, errors.New("chatcore: Options.DB is required")
	}
	if len(o.SessionSecret) < MinSessionSecret {
		return o, fmt.Errorf("console.session_secret: must be at least %d bytes (e.g. `openssl rand -hex 32`)", MinSessionSecret)
	}
	if o.Broker == nil {
		o.Broker = broker.NewMemory()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Presence == nil {
		o.Presence = presence.NewMemory()
	}
	if o.Instance == "" {
		host, _ := os.Hostname()
		o.Instance = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	origins := make([]string, 0, len(o.AllowedOrigins))
	for _, s := range o.AllowedOrigins {
		origin, ok := canonicalOrigin(s)
		if !ok {
			return o, fmt.Errorf("console.allowed_origins: %q is not an origin like https://host[:port]", s)
		}
		origins = append(origins, origin)
	}
	o.AllowedOrigins = origins
	if o.PublicURL != "" {
		if _, ok := canonicalOrigin(strings.TrimSuffix(o.PublicURL, "/")); !ok {
			return o, fmt.Errorf("console.public_url: %q is not an address like https://host[:port]", o.PublicURL)
		}
	}
	if o.ClientIP == nil {
		o.ClientIP = proxies(o.TrustedProxies).clientIP
	}
	if o.MaxSocketsPerAgent <= 0 {
		o.MaxSocketsPerAgent = 32
	}
	if o.SendQueueBytes <= 0 {
		o.SendQueueBytes = 256 << 10
	}
	if o.SocketSendBuffer == 0 {
		o.SocketSendBuffer = 64 << 10
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = 4 << 10
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = 2 * time.Second
	}
	if o.SweepLookback <= 0 {
		o.SweepLookback = 15 * time.Second
	}
	if o.LoginUserBurst <= 0 {
		o.LoginUserBurst = 5
	}
	if o.LoginUserEvery <= 0 {
		o.LoginUserEvery = 12 * time.Second
	}
	if o.LoginAgentBurst <= 0 {
		o.LoginAgentBurst = 20
	}
	if o.LoginSlowDelay <= 0 {
		o.LoginSlowDelay = 2 * time.Second
	}
	if o.LoginKnownFor <= 0 {
		o.LoginKnownFor = 30 * 24 * time.Hour
	}
	if o.LoginState == nil {
		o.LoginState = loginstate.NewMemory(10000)
	}
	if o.LoginIPBurst <= 0 {
		o.LoginIPBurst = 20
	}
	if o.LoginIPEvery <= 0 {
		o.LoginIPEvery = 3 * time.Second
	}
	if o.Assignment.Capacity == 0 {
		o.Assignment.Capacity = 10
	}
	if o.Assignment.Capacity < 1 || o.Assignment.Capacity > MaxCapacity {
		return o, fmt.Errorf("console.assignment.capacity: must be between 1 and %d, got %d", MaxCapacity, o.Assignment.Capacity)
	}
	if err := o.SLA.Check(); err != nil {
		return o, fmt.Errorf("console.sla: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PublishBuffer <= 0 {
		o.PublishBuffer = 4096
	}
	return o, nil
}
