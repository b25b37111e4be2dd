package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/syncd-dev/syncd/bot"
	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatcore/broker"
	"github.com/syncd-dev/syncd/chatcore/loginstate"
	"github.com/syncd-dev/syncd/chatcore/presence"
	"github.com/syncd-dev/syncd/chatstore"
	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/configs"
	"github.com/syncd-dev/syncd/lock"
	schema "github.com/syncd-dev/syncd/sql"
	"github.com/syncd-dev/syncd/store"
)

func isSchemaError(err error) bool { return errors.Is(err, schema.ErrOutdated) }

// startBot starts the intent bot, or returns NoBot when it is disabled.
// When the ONNX Runtime library is missing, one log line says so and how
// to fetch it, and the bot turns on by itself once the library is there
// (see daemonBot). A model or answers file that does not load stops syncd:
// it is a configuration error. reload is for SIGHUP; stop closes the bot,
// and the watcher goroutine (on wg) returns.
func startBot(ctx context.Context, cfg config.Config, reg prometheus.Registerer, log *slog.Logger, wg *sync.WaitGroup) (b bridge.Bot, reload func(context.Context), stop func(), err error) {
	if !cfg.Bot.Enabled {
		log.InfoContext(ctx, "intent bot off: bot.enabled is false")
		return bridge.NoBot{}, func(context.Context) {}, func() {}, nil
	}
	opts := botOptions(cfg.Bot, configs.BotAnswers, log)
	svc, err := bot.New(ctx, opts)
	switch {
	case errors.Is(err, bot.ErrNoRuntime):
		log.WarnContext(ctx, "intent bot off until ONNX Runtime is there: "+botOffHint+
			"; syncd looks for it every "+bot.DefaultPollInterval.String()+" and on SIGHUP, and turns the bot on", slog.Any("error", err))
	case err != nil:
		return nil, nil, nil, fmt.Errorf("invalid configuration: bot.model / bot.answers (env SYNCD_BOT_MODEL, SYNCD_BOT_ANSWERS): %w", err)
	}
	d := newDaemonBot(opts, log, svc)
	registerBotMetrics(reg, d.stats)
	wg.Add(1)
	go func() { defer wg.Done(); d.run(ctx) }()
	return d, d.reload, d.close, nil
}

// startConsole starts the chat core: the WebSocket hub, the broker between
// instances (Redis pub/sub, or in-process without Redis), and the console's
// HTTP API. The returned func stops it and waits.
func startConsole(ctx context.Context, cfg config.Config, st *store.Store, rc redis.UniversalClient, locker lock.Locker, instance string,
	b bridge.Bot, reg prometheus.Registerer, log *slog.Logger, wg *sync.WaitGroup) (bridge.Publisher, http.Handler, func(), error) {
	secret := cfg.Console.SessionSecret
	if secret == "" {
		var err error
		secret, err = st.Setting(ctx, "console.session_secret", func() (string, error) {
			var b [32]byte
			if _, err := rand.Read(b[:]); err != nil {
				return "", err
			}
			return hex.EncodeToString(b[:]), nil
		})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("console.session_secret is empty and none could be generated: %w", err)
		}
	}
	cs, err := chatstore.New(st.Gorm())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open console store: %w", err)
	}
	// History stores the bot's intent, not its suggestion's text; the
	// console gets the suggestion from the bot when it reads a message.
	if sg, ok := b.(interface {
		Suggestion(string, float64, string) string
	}); ok {
		cs.SetSuggester(sg.Suggestion)
	}
	// Agents label messages with the intents the model in force knows.
	var intents func() []string
	if in, ok := b.(interface{ Intents() []string }); ok {
		intents = in.Intents
	}
	proxies, _ := cfg.Console.Proxies() // validated with the config
	clog := log.With(slog.String("component", "console"))
	var logins chatcore.LoginState // nil: this process's memory
	var online chatcore.Presence   // nil: this process's sockets
	if rc != nil {
		logins = loginstate.NewRedis(rc, cfg.Redis.Prefix, clog)
		p, err := presence.NewRedis(rc, presence.RedisOptions{Prefix: cfg.Redis.Prefix + "presence", Instance: instance, Logger: clog})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("console presence: %w", err)
		}
		online = p
	}
	core, err := chatcore.New(chatcore.Options{
		DB:             cs,
		Intents:        intents,
		Broker:         newBroker(cfg, rc, log),
		Logger:         clog,
		Instance:       instance,
		SessionSecret:  []byte(secret),
		SessionTTL:     cfg.Console.SessionTTL,
		SecureCookie:   cfg.Console.Secure(),
		PublicURL:      cfg.Console.PublicURL,
		AllowedOrigins: cfg.Console.AllowedOrigins,
		AllowedHosts:   cfg.Console.AllowedHosts,
		TrustedProxies: proxies,
		LoginState:     logins,
		Presence:       online,
		SendQueueBytes: cfg.Console.SendQueueBytes,
		SweepInterval:  cfg.Console.SweepInterval,
		Assignment:     chatcore.Assignment{Enabled: cfg.Console.Assignment.Enabled, Capacity: cfg.Console.Assignment.Capacity},
		SLA:            chatcore.SLARules{FirstResponse: cfg.Console.SLA.FirstResponse, Reply: cfg.Console.SLA.Reply},
		Ops:            consoleOps{st: st, locker: locker, shards: cfg.Poller.Shards},
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("invalid configuration: %w", err)
	}
	registerConsoleMetrics(reg, core)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := core.Run(ctx); err != nil {
			log.Error("console stopped", slog.Any("error", err))
		}
	}()
	api, err := newIngest(cfg, st, reg, log)
	if err != nil {
		return nil, nil, nil, err
	}
	return core, withIngest(core, api), func() { _ = core.Close() }, nil
}

// newBroker is Redis pub/sub on <redis.prefix>console, or in-process
// without Redis.
func newBroker(cfg config.Config, rc redis.UniversalClient, log *slog.Logger) chatcore.Broker {
	if rc == nil {
		return broker.NewMemory()
	}
	return broker.NewRedis(rc, broker.RedisOptions{Channel: cfg.Redis.Prefix + "console", Logger: log})
}
