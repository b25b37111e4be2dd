package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/config"
	schema "github.com/syncd-dev/syncd/sql"
	"github.com/syncd-dev/syncd/store"
)

func isSchemaError(err error) bool { return errors.Is(err, schema.ErrOutdated) }

// startBot starts the intent bot, or returns NoBot with one log line saying
// why the bot is off and how to turn it on.
func startBot(ctx context.Context, cfg config.Config, log *slog.Logger, wg *sync.WaitGroup) (bridge.Bot, func()) {
	return bridge.NoBot{}, func() {}
}

func reloadBot(ctx context.Context, log *slog.Logger) {}

// startConsole starts the chat core: the WebSocket hub, the broker between
// instances, and the console's HTTP API.
func startConsole(ctx context.Context, cfg config.Config, st *store.Store, rc *redis.Client, instance string,
	log *slog.Logger, wg *sync.WaitGroup) (bridge.Publisher, http.Handler, func(), error) {
	return bridge.NoPublisher{}, http.NotFoundHandler(), func() {}, nil
}
