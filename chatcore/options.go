package chatcore

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Options configures a Core. The zero value of every field means its
// default; Store and SessionSecret are required. The config keys in the
// comments are those of syncd's config file.
type Options struct {
	// Store is the database (chatstore.New). Required.
	Store Store
	// Broker carries messages between instances. Default: a MemoryBroker
	// of its own, which is right for a single instance.
	Broker Broker
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
	// when the request itself came over TLS. console.secure_cookie.
	SecureCookie bool
	// AllowedOrigins lists origins ("https://console.example.com") besides
	// the server's own that may send state-changing requests and open the
	// WebSocket. console.allowed_origins.
	AllowedOrigins []string
	// ClientIP returns the address login attempts are limited by. Default:
	// the host of r.RemoteAddr. Behind a reverse proxy, supply one that
	// reads the proxy's header.
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

	// SweepInterval is how often conversations whose last_seq or state
	// moved are re-read and pushed. console.sweep_interval; default 2s.
	SweepInterval time.Duration
	// SweepLookback is how far behind the newest updated_at seen the sweep
	// looks again, to catch transactions that committed late or clocks a
	// little apart. console.sweep_lookback; default 15s.
	SweepLookback time.Duration

	// LoginUserBurst login attempts per username are allowed at once, and
	// one more every LoginUserEvery. Defaults 5 and 12s (5 a minute).
	LoginUserBurst int
	LoginUserEvery time.Duration
	// LoginIPBurst login attempts per client IP are allowed at once, and
	// one more every LoginIPEvery. Defaults 20 and 3s.
	LoginIPBurst int
	LoginIPEvery time.Duration

	// PublishBuffer is how many published batches may wait for the broker,
	// and how many conversation changes may wait to be rendered; beyond it
	// they are dropped (the sweep covers them). Default 4096.
	PublishBuffer int
}

// MinSessionSecret is the shortest accepted console.session_secret.
const MinSessionSecret = 32

func (o Options) withDefaults() (Options, error) {
	if o.Store == nil {
		return o, errors.New("chatcore: Options.Store is required")
	}
	if len(o.SessionSecret) < MinSessionSecret {
		return o, fmt.Errorf("console.session_secret: must be at least %d bytes (e.g. `openssl rand -hex 32`)", MinSessionSecret)
	}
	if o.Broker == nil {
		o.Broker = NewMemoryBroker()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
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
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return o, fmt.Errorf("console.allowed_origins: %q is not an origin like https://host[:port]", s)
		}
		origins = append(origins, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	o.AllowedOrigins = origins
	if o.ClientIP == nil {
		o.ClientIP = remoteIP
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
	if o.LoginIPBurst <= 0 {
		o.LoginIPBurst = 20
	}
	if o.LoginIPEvery <= 0 {
		o.LoginIPEvery = 3 * time.Second
	}
	if o.PublishBuffer <= 0 {
		o.PublishBuffer = 4096
	}
	return o, nil
}
