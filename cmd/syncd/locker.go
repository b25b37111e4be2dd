package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/lock"
)

// newLocker is redsync over Redis when redis.addr or redis.addrs is set,
// else in-process. The client is nil in the in-process case: one server,
// the master that Sentinels name (followed across failovers), or a
// Cluster, through go-redis's universal client. With Redis, go-redis's own
// messages go to log (see redislog.go) instead of to stderr in go-redis's
// format.
func newLocker(cfg config.Config, instance string, log *slog.Logger) (lock.Locker, redis.UniversalClient) {
	if !cfg.Redis.Enabled() {
		return lock.NewLocal(), nil
	}
	installRedisLogger(log)
	addrs := cfg.Redis.Addrs
	if cfg.Redis.Addr != "" {
		addrs = []string{cfg.Redis.Addr}
	}
	rc := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: addrs, MasterName: cfg.Redis.MasterName, SentinelPassword: cfg.Redis.SentinelPassword,
		Password: cfg.Redis.Password, DB: cfg.Redis.DB,
		IsClusterMode: cfg.Redis.Mode() == "cluster", // a single seed node is a Cluster too
	})
	return lock.NewRedis(rc, lock.RedisOptions{TTL: cfg.Redis.LockTTL, Owner: instance, Prefix: cfg.Redis.Prefix + "lock:"}), rc
}

func instanceName(cfg config.Config) string {
	if cfg.Instance != "" {
		return cfg.Instance
	}
	host, err := os.Hostname()
	if err != nil {
		host = "syncd"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// redisPermanent reports whether err is a Redis reply that retrying cannot
// cure, and what to check; a server that is down or slow is not one.
func redisPermanent(err error) (hint string, ok bool) {
	var re redis.Error
	if !errors.As(err, &re) {
		return "", false
	}
	msg := re.Error()
	switch {
	case strings.HasPrefix(msg, "NOAUTH"):
		return "this Redis wants a password: set redis.password (SYNCD_REDIS_PASSWORD)", true
	case strings.HasPrefix(msg, "WRONGPASS"), strings.HasPrefix(msg, "ERR invalid password"):
		return "check redis.password (SYNCD_REDIS_PASSWORD) against this Redis's requirepass or ACL user", true
	case strings.HasPrefix(msg, "NOPERM"):
		return "the Redis user may not run one of syncd's commands or use its keys: allow them in its ACL " +
			"(commands +@all, keys ~PREFIX*, channels &PREFIX*, where PREFIX is redis.prefix)", true
	case strings.Contains(msg, "DB index is out of range"), strings.Contains(msg, "invalid DB index"):
		return "redis.db (SYNCD_REDIS_DB) is beyond this server's `databases` setting", true
	}
	return "", false
}

// checkRedis asks Redis once, at start, whether it takes syncd's
// credentials. A refusal that retrying cannot cure (a wrong password, a db
// number the server lacks) is returned; an outage is only logged, since
// syncd waits for Redis while it runs (and /readyz says so).
func checkRedis(ctx context.Context, locker lock.Locker, log *slog.Logger) error {
	if !locker.Distributed() {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := explain(locker.Ping(pctx), redisPermanent)
	switch {
	case err == nil:
		return nil
	case isPermanent(err):
		return err
	case ctx.Err() == nil:
		log.Warn("redis unreachable at start; syncd waits for it", slog.Any("error", err))
	}
	return nil
}
