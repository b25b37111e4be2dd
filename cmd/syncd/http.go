package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/internal/connlimit"
	"github.com/syncd-dev/syncd/ops"
)

// frontDoor is syncd's HTTP side: the console listener (http.addr) and,
// when configured, the admin listener (http.admin_addr). Both have read,
// write and idle timeouts and connection caps, so that no client, logged
// in or not, can hold more than its share of the process's descriptors.
type frontDoor struct {
	log     *slog.Logger
	servers []*http.Server
	lns     []*connlimit.Listener
	wg      sync.WaitGroup
}

// adminMaxConns caps the admin listener: a few scrapers and probes.
const adminMaxConns = 64

// openFrontDoor listens on http.addr (and http.admin_addr) and starts
// serving. console is mounted at / on http.addr, beside /healthz and
// /readyz; /metrics is open on the admin listener and, on http.addr,
// needs http.metrics_token or a request from this machine.
func openFrontDoor(cfg config.Config, ready *ops.Readiness, reg *prometheus.Registry, console http.Handler, log *slog.Logger) (*frontDoor, error) {
	h := cfg.HTTP
	proxies, _ := cfg.Console.Proxies() // validated with the config
	maxConns := connBudget(cfg, log)
	fd := &frontDoor{log: log}
	mux := ops.Mux(ready, reg, ops.MetricsAccess{Token: h.MetricsToken})
	mux.Handle("/", console)
	err := fd.listen("http.addr", h.Addr, mux, connlimit.Options{
		Max: maxConns, PerClient: h.MaxConnsPerClient,
		Exempt: func(a netip.Addr) bool {
			return slices.ContainsFunc(proxies, func(p netip.Prefix) bool { return p.Contains(a) })
		},
	}, h)
	if err == nil && h.AdminAddr != "" {
		err = fd.listen("http.admin_addr", h.AdminAddr, ops.Mux(ready, reg, ops.MetricsAccess{Open: true}),
			connlimit.Options{Max: adminMaxConns, PerClient: adminMaxConns / 4}, h)
	}
	if err != nil {
		fd.close()
		return nil, err
	}
	fd.register(reg)
	return fd, nil
}

// connBudget is http.max_conns, or what the open-files limit leaves after
// the descriptors the rest of syncd needs (database and Redis pools, the
// admin listener, files): an explicit value that does not fit is lowered.
func connBudget(cfg config.Config, log *slog.Logger) int {
	limit, err := connlimit.RaiseFileLimit()
	if err != nil {
		log.Warn("cannot read the open-files limit; http.max_conns alone caps connections", slog.Any("error", err))
	}
	want := cfg.HTTP.MaxConns
	if limit == 0 {
		if want == 0 {
			want = 16384
		}
		return want
	}
	reserve := 256 + cfg.Database.MaxOpenConns
	room := max(int(limit)-reserve, int(limit)/4, 1)
	switch {
	case want == 0:
		want = min(room, 16384)
	case want > room:
		log.Warn("http.max_conns is more than the open-files limit leaves; lowered",
			slog.Int("http.max_conns", want), slog.Int("lowered_to", room), slog.Uint64("open_files_limit", limit))
		want = room
	}
	log.Info("http connection limits", slog.Int("max_conns", want),
		slog.Int("max_conns_per_client", cfg.HTTP.MaxConnsPerClient), slog.Uint64("open_files_limit", limit))
	return want
}

func (fd *frontDoor) listen(key, addr string, h http.Handler, o connlimit.Options, hc config.HTTP) error {
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s %s: %w", key, addr, err)
	}
	refused := throttledLog(fd.log, "connections refused: a client holds http.max_conns_per_client already")
	o.OnRefuse = func(client netip.Prefix) {
		refused(slog.String("client", client.String()), slog.String("listener", key))
	}
	ln := connlimit.Wrap(raw, o)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, hc.ReadTimeout),
		ReadTimeout:       hc.ReadTimeout,
		WriteTimeout:      hc.WriteTimeout,
		IdleTimeout:       hc.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(fd.log.Handler(), slog.LevelWarn), // accept errors, panics
	}
	fd.servers, fd.lns = append(fd.servers, srv), append(fd.lns, ln)
	msg := "http listening"
	if key == "http.admin_addr" {
		msg = "admin http listening"
	}
	fd.log.Info(msg, slog.String("addr", raw.Addr().String()))
	fd.wg.Add(1)
	go func() {
		defer fd.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fd.log.Error("http server stopped", slog.String("listener", key), slog.Any("error", err))
		}
	}()
	return nil
}

// register exposes the listeners' counters.
func (fd *frontDoor) register(reg prometheus.Registerer) {
	for i, ln := range fd.lns {
		name := "console"
		if i > 0 {
			name = "admin"
		}
		labels := prometheus.Labels{"listener": name}
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "syncd_http_connections", ConstLabels: labels,
				Help: "HTTP connections open now, WebSockets included."},
				func() float64 { return float64(ln.Stats().Open) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "syncd_http_connections_refused_total", ConstLabels: labels,
				Help: "HTTP connections closed at once because their client held http.max_conns_per_client."},
				func() float64 { return float64(ln.Stats().Refused) }),
		)
	}
}

// shutdown stops accepting, lets requests in flight finish (up to 5s) and
// waits for the servers.
func (fd *frontDoor) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range fd.servers {
		if err := srv.Shutdown(ctx); err != nil {
			fd.log.Warn("http shutdown", slog.Any("error", err))
		}
	}
	fd.wg.Wait()
}

func (fd *frontDoor) close() {
	for _, srv := range fd.servers {
		_ = srv.Close()
	}
	fd.wg.Wait()
}

// throttledLog returns a func that logs msg at most once a minute, with
// how many it kept quiet about: what strangers cause must not flood the log.
func throttledLog(log *slog.Logger, msg string) func(...slog.Attr) {
	var (
		mu         sync.Mutex
		last       time.Time
		suppressed int
	)
	return func(attrs ...slog.Attr) {
		mu.Lock()
		if time.Since(last) < time.Minute {
			suppressed++
			mu.Unlock()
			return
		}
		n := suppressed
		last, suppressed = time.Now(), 0
		mu.Unlock()
		log.LogAttrs(context.Background(), slog.LevelWarn, msg, append(attrs, slog.Int("suppressed", n))...)
	}
}
