package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// redisLogger sends go-redis's internal messages (which it otherwise
// prints to stderr as "redis: <date> pool.go:770: …", whatever log.format
// says) to syncd's slog logger.
//
// They go out at DEBUG. go-redis logs without levels, and mostly per
// event: while Redis is down every failed dial is a line ("connection
// pool: failed to dial after 5 attempts"), for every lock attempt and
// every resubscribe, several a second per instance. syncd already reports
// the outage once, with its cause ("dependency unreachable" with
// dependency=redis, "redis subscription lost; retrying", /readyz and
// syncd_dependency_up), so at WARN these lines would only bury that.
// log.level=debug shows them when the detail is wanted. Recovered panics
// are the exception: rare, and a bug rather than an outage, so WARN.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, args ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	level := slog.LevelDebug
	if strings.Contains(format, "panic") {
		level = slog.LevelWarn
	}
	if !l.log.Enabled(ctx, level) {
		return // no formatting while Redis is down and debug is off
	}
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	msg = strings.TrimPrefix(msg, "redis: ") // the prefix that some of its messages carry
	l.log.Log(ctx, level, msg)
}

// installRedisLogger makes log, with component=go-redis, go-redis's logger.
// The logger is global to go-redis: the last call wins.
func installRedisLogger(log *slog.Logger) {
	redis.SetLogger(redisLogger{log: log.With(slog.String("component", "go-redis"))})
}
