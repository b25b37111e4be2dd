package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/urfave/cli/v2"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/ops"
	"github.com/syncd-dev/syncd/poller"
	"github.com/syncd-dev/syncd/poller/retention"
	schema "github.com/syncd-dev/syncd/sql"
	"github.com/syncd-dev/syncd/store"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the relay, the console and the operator endpoints until SIGINT or SIGTERM",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "shutdown-timeout", Value: 30 * time.Second, Usage: "how long to let in-flight batches finish on shutdown"},
		},
		Action: func(c *cli.Context) error {
			cfg, src, err := loadConfig(c)
			if err != nil {
				return err
			}
			log := newLogger(cfg)
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, cfg, src, log, c.Duration("shutdown-timeout"))
		},
	}
}

// run is the daemon. It returns nil after a graceful shutdown, and an
// error only for what an operator must fix (configuration, schema, a port
// in use); outages of the database or Redis are retried, never fatal.
func run(ctx context.Context, cfg config.Config, src config.Source, log *slog.Logger, shutdownTimeout time.Duration) error {
	// SIGHUP is taken from the start: its default would end the process,
	// and an operator may send it (to turn the bot on) while syncd waits
	// for the database. It is acted on once the daemon runs.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	instance := instanceName(cfg)
	log = log.With(slog.String("instance", instance))
	announce(log, cfg, src)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Every component is started below in order and registered with life,
	// which stops them in the reverse order however run returns.
	life := &lifecycle{log: log}
	var stopCtx context.Context = context.Background() // the shutdown's deadline, once it starts
	defer func() { life.stop(stopCtx) }()

	// The operator endpoints come up first so that /readyz can say what the
	// daemon waits for while the database is unreachable.
	var (
		mu  sync.Mutex
		st  *store.Store
		app http.Handler
	)
	var connectErr error // the last failed attempt while st is nil, under mu
	locker, rc := newLocker(cfg, instance, log)
	if rc != nil {
		life.onStop("redis", func(context.Context) { rc.Close() })
	}
	// The database closes after everything that uses it (registered now,
	// so that it stops after the front door and readiness below).
	life.onStop("database", func(context.Context) {
		mu.Lock()
		s := st
		st = nil
		mu.Unlock()
		if s != nil {
			s.Close()
		}
	})
	if err := checkRedis(ctx, locker, log); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	checks := []ops.Check{{Name: "database", Probe: func(ctx context.Context) error {
		mu.Lock()
		s, cerr := st, connectErr
		mu.Unlock()
		switch {
		case s != nil:
			return explainDB(s.Ping(ctx))
		case cerr != nil:
			return fmt.Errorf("%w: %w", ops.ErrStarting, cerr) // connect logs it
		}
		return ops.ErrStarting
	}}}
	// Ready only once every component runs: the database answering is not
	// enough while the bot loads and the console and poller start (a
	// database error meanwhile still ends the start).
	var started atomic.Bool
	checks = append(checks, ops.Check{Name: "startup", Probe: func(context.Context) error {
		if started.Load() {
			return nil
		}
		return ops.ErrStarting
	}})
	if locker.Distributed() {
		checks = append(checks, ops.Check{Name: "redis", Probe: func(ctx context.Context) error {
			return explain(locker.Ping(ctx), redisPermanent)
		}})
	}
	ready := ops.NewReadiness(reg, log, 2*time.Second, checks...)
	rctx, rwg := life.scope(ctx, "readiness", nil)
	rwg.Add(1)
	go func() { defer rwg.Done(); ready.Run(rctx) }()
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := app
		mu.Unlock()
		if h == nil {
			http.Error(w, "syncd is starting", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
	srv, err := openFrontDoor(cfg, ready, reg, console, log)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	life.onStop("http", func(context.Context) { srv.shutdown() })

	s, err := connect(ctx, cfg, log, func(err error) {
		mu.Lock()
		connectErr = err
		mu.Unlock()
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while waiting for the database
		}
		return cli.Exit(err.Error(), 1)
	}
	mu.Lock()
	st = s
	mu.Unlock()
	ready.ProbeNow(ctx)

	backlog := ops.NewBacklog(reg, log, s, 10*time.Second)
	bctx, bwg := life.scope(ctx, "backlog", nil)
	bwg.Add(1)
	go func() { defer bwg.Done(); backlog.Run(bctx) }()

	var closeBot func()
	botCtx, botWG := life.scope(ctx, "bot", func(context.Context) {
		if closeBot != nil {
			closeBot()
		}
	})
	bot, reloadBot, closeBot, err := startBot(botCtx, cfg, reg, log, botWG)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	var closeConsole func()
	consoleCtx, consoleWG := life.scope(ctx, "console", func(context.Context) {
		if closeConsole != nil {
			closeConsole() // WebSockets get 1001 before the listener closes
		}
	})
	publisher, handler, closeConsole, err := startConsole(consoleCtx, cfg, s, rc, locker, instance, bot, reg, log, consoleWG)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	mu.Lock()
	app = handler
	mu.Unlock()

	// Adaptive polling: an agent's open console here keeps the poller fast.
	var attention func() bool
	if c, ok := publisher.(interface{ Stats() chatcore.Stats }); ok {
		attention = func() bool { return c.Stats().Connections > 0 }
	}
	p, err := poller.New(poller.Options{
		Store:       s,
		Locker:      locker,
		Converter:   bridge.New(bridge.Options{MaxBodyBytes: cfg.Relay.MaxBodyBytes, MaxPayloadBytes: cfg.Relay.MaxPayloadBytes, Bot: bot, Logger: log}),
		Publisher:   publisher,
		Metrics:     poller.NewMetrics(reg),
		Logger:      log,
		Instance:    instance,
		Schedule:    cfg.Poller.Schedule,
		Shards:      cfg.Poller.Shards,
		BatchSize:   cfg.Poller.BatchSize,
		Workers:     cfg.Poller.Workers,
		MaxAttempts: cfg.Poller.MaxAttempts,
		BackoffBase: cfg.Poller.BackoffBase,
		BackoffMax:  cfg.Poller.BackoffMax,
		Lease:       cfg.Poller.Lease,
		// 0 in the configuration turns adaptive polling off.
		FastInterval: cmp.Or(cfg.Poller.FastInterval, -1),
		HotFor:       cfg.Poller.HotFor,
		Attention:    attention,
	})
	if err != nil {
		return cli.Exit("invalid configuration: poller: "+err.Error(), 2)
	}
	pctx, _ := life.scope(ctx, "poller", func(sctx context.Context) {
		log.Info("shutting down: finishing the batches in hand")
		if err := p.Stop(sctx); err != nil {
			log.Warn("in-flight batches cancelled; their rows return to pending", slog.Any("error", err))
		}
	})
	p.Start(pctx)
	p.Kick() // relay the backlog now rather than at the first tick
	lctx, lwg := life.scope(ctx, "notify", nil)
	listen(lctx, cfg, s, p, log, lwg)
	if err := startWebhook(ctx, life, cfg, s, locker, instance, reg, log); err != nil {
		return err
	}
	if err := startRetention(ctx, cfg, s, locker, reg, log, life); err != nil {
		return cli.Exit("invalid configuration: retention: "+err.Error(), 2)
	}
	started.Store(true)
	ready.ProbeNow(ctx)

	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-hup:
			reloadBot(ctx)
		}
	}

	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	stopCtx = sctx
	life.stop(sctx)
	log.Info("stopped")
	return nil
}

// startRetention runs retention passes while syncd runs, when retention.*
// deletes anything; the pass in flight stops first on shutdown (its batch
// is one short statement), before the relay and the database.
func startRetention(ctx context.Context, cfg config.Config, s *store.Store, locker lock.Locker, reg prometheus.Registerer,
	log *slog.Logger, life *lifecycle) error {
	policy := retentionPolicy(cfg.Retention)
	if !policy.Enabled() {
		return nil
	}
	r, err := retention.New(retention.Options{Store: s, Locker: locker, Policy: policy,
		Metrics: retention.NewMetrics(reg), Logger: log})
	if err != nil {
		return err
	}
	rctx, _ := life.scope(ctx, "retention", func(sctx context.Context) {
		if err := r.Stop(sctx); err != nil {
			log.Warn("retention pass cut short", slog.Any("error", err))
		}
	})
	r.Start(rctx)
	log.Info("retention on", slog.Duration("sent_rows", policy.SentRows), slog.Duration("failed_rows", policy.FailedRows),
		slog.Duration("replies_done", policy.RepliesDone), slog.Duration("history", policy.History))
	return nil
}

// listen sets the insert notification (PostgreSQL) as database.notify
// says and, when it is on, wakes the poller on each notification until bg
// ends; wg is for its goroutine. A switch it cannot set or a listener it cannot
// keep only costs latency: the schedule still finds every row.
func listen(bg context.Context, cfg config.Config, s *store.Store, p *poller.Poller, log *slog.Logger, wg *sync.WaitGroup) {
	if s.Dialect() != schema.Postgres {
		return
	}
	log = log.With(slog.String("component", "notify"))
	wasOn, err := s.SetNotify(bg, cfg.Database.Notify)
	if err != nil {
		log.Warn("cannot set the insert notification; polling only", slog.Any("error", err))
		return
	}
	if !cfg.Database.Notify {
		if wasOn {
			// The switch is the database's, not this instance's.
			log.Warn("database.notify is false here, so the insert notification is now off for every instance: " +
				"those that listen poll until one starts with database.notify true; give every instance the same value")
		}
		return
	}
	log.Info("waking on inserts (database.notify)", slog.String("channel", store.NotifyChannel))
	var interrupted atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := s.Listen(bg, p.Wake, 5*time.Second, store.ListenEvents{
			Error: func(err error) {
				interrupted.Store(true)
				log.Warn("insert notifications interrupted; polling meanwhile, reconnecting in 5s", slog.Any("error", err))
			},
			Listening: func() {
				if interrupted.Swap(false) {
					log.Info("insert notifications resumed")
				}
			},
		})
		if err != nil {
			log.Warn("insert notifications stopped; polling only", slog.Any("error", err))
		}
	}()
}

// connect opens the database, retrying with backoff while it is
// unreachable; failed reports each failed attempt (for /readyz). A schema
// that is missing or outdated, and an error retrying cannot cure (access
// denied, an unknown database, a file syncd may not write), are not
// retried: the operator has to act, and the error says how.
func connect(ctx context.Context, cfg config.Config, log *slog.Logger, failed func(error)) (*store.Store, error) {
	delay := 500 * time.Millisecond
	for {
		s, err := openOrCreateStore(ctx, cfg)
		if err == nil {
			return s, nil
		}
		if isSchemaError(err) || isPermanent(err) {
			return nil, err
		}
		failed(err)
		log.Error("database unreachable; retrying", slog.String("driver", cfg.Database.Driver),
			slog.Duration("retry_in", delay), slog.Any("error", err))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}

func announce(log *slog.Logger, cfg config.Config, src config.Source) {
	if src.File == "" && len(src.EnvKeys) == 0 {
		log.Info("no configuration given: using the embedded default",
			slog.String("database", "SQLite file "+cfg.Database.DSN),
			slog.String("locks", "in-process (single instance)"),
			slog.String("console", "http://"+cfg.HTTP.Addr),
			slog.String("next", "create an agent with `syncd agent add NAME`"))
	} else {
		log.Info("configuration loaded", slog.String("file", src.File), slog.Any("env", src.EnvKeys))
	}
	for _, u := range src.Unknown {
		log.Warn("environment variable is not a syncd setting; ignored", slog.String("variable", u.Name),
			slog.String("did_you_mean", u.DidYouMean))
	}
	locks := "in-process"
	switch cfg.Redis.Mode() {
	case "server":
		locks = "redis " + cfg.Redis.Addr
	case "sentinel":
		locks = "redis sentinel " + cfg.Redis.MasterName + " via " + strings.Join(cfg.Redis.Addrs, ",")
	case "cluster":
		locks = "redis cluster " + strings.Join(cfg.Redis.Addrs, ",")
	}
	log.Info("syncd starting", slog.String("version", buildVersion()), slog.String("commit", buildRevision()), slog.String("database_driver", cfg.Database.Driver),
		slog.String("locks", locks), slog.String("schedule", cfg.Poller.Schedule), slog.Int("shards", cfg.Poller.Shards))
}
