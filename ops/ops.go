// Package ops serves the operator endpoints: /healthz (the process runs),
// /readyz (the database and Redis answer) and /metrics (to whom
// MetricsAccess allows), and keeps the dependency and backlog gauges
// fresh.
package ops

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one dependency probe.
type Check struct {
	Name  string // "database", "redis"
	Probe func(ctx context.Context) error
}

// ErrStarting is what a probe returns before its dependency was first
// opened; it makes /readyz false without logging an outage.
var ErrStarting = errors.New("starting")

// Readiness probes its checks periodically; /readyz answers from the last
// results so that a slow dependency cannot make the probe itself hang.
type Readiness struct {
	checks   []Check
	interval time.Duration
	log      *slog.Logger
	up       *prometheus.GaugeVec

	mu    sync.RWMutex
	state map[string]string // name → "ok" or the error
}

// NewReadiness registers syncd_dependency_up on reg.
func NewReadiness(reg prometheus.Registerer, log *slog.Logger, interval time.Duration, checks ...Check) *Readiness {
	r := &Readiness{checks: checks, interval: interval, log: log, state: map[string]string{},
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "syncd_dependency_up",
			Help: "1 when the dependency answered its last probe."}, []string{"dependency"})}
	for _, c := range checks {
		r.state[c.Name] = "not checked yet"
	}
	reg.MustRegister(r.up)
	return r
}

// Run probes until ctx ends.
func (r *Readiness) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		r.ProbeNow(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ProbeNow runs every check once and records the results.
func (r *Readiness) ProbeNow(ctx context.Context) {
	for _, c := range r.checks {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		prev := r.state[c.Name]
		if err != nil {
			r.state[c.Name] = err.Error()
			r.up.WithLabelValues(c.Name).Set(0)
			if prev == "ok" || (prev == "not checked yet" && !errors.Is(err, ErrStarting)) {
				r.log.Error("dependency unreachable", slog.String("dependency", c.Name), slog.Any("error", err))
			}
		} else {
			r.state[c.Name] = "ok"
			r.up.WithLabelValues(c.Name).Set(1)
			if prev != "ok" && prev != "not checked yet" && prev != ErrStarting.Error() {
				r.log.Info("dependency reachable again", slog.String("dependency", c.Name))
			}
		}
		r.mu.Unlock()
	}
}

// Ready reports whether every check passed, and each one's state.
func (r *Readiness) Ready() (bool, map[string]string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]string, len(r.state))
	ok := true
	for k, v := range r.state {
		out[k] = v
		ok = ok && v == "ok"
	}
	return ok, out
}

func (r *Readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	ok, st := r.Ready()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": st})
}

// MetricsAccess says who may read /metrics.
type MetricsAccess struct {
	// Open serves anyone who reaches the listener (the admin listener,
	// which the operator firewalls).
	Open bool
	// Token, when set, lets a request with "Authorization: Bearer <Token>"
	// through.
	Token string
}

// Mux returns the operator endpoints; the console is mounted at / by the
// caller. /metrics is served as access says; a request it refuses gets 401
// (with a token configured) or 403 and a line naming the keys to set.
func Mux(ready *Readiness, gatherer prometheus.Gatherer, access MetricsAccess) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /readyz", ready)
	mux.Handle("GET /metrics", access.guard(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
	return mux
}

func (a MetricsAccess) guard(next http.Handler) http.Handler {
	if a.Open {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case a.Token != "" && bearer(r, a.Token):
			next.ServeHTTP(w, r)
		case a.Token != "":
			w.Header().Set("WWW-Authenticate", `Bearer realm="syncd metrics"`)
			http.Error(w, "/metrics needs Authorization: Bearer <http.metrics_token>", http.StatusUnauthorized)
		case fromThisMachine(r):
			next.ServeHTTP(w, r)
		default:
			http.Error(w, "/metrics answers only this machine here: set http.admin_addr or http.metrics_token", http.StatusForbidden)
		}
	})
}

// bearer reports whether r carries the token, compared in constant time.
func bearer(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

// fromThisMachine reports whether r comes straight from a loopback peer
// (not through a proxy, which would carry anyone's request) and names a
// loopback host, so that a page that rebinds its name to 127.0.0.1 is not
// let through by the browser it runs in.
func fromThisMachine(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "Via"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
