package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/lock"
)

// newLocker is redsync over Redis when redis.addr is set, else in-process.
// The client is nil in the in-process case. With Redis, go-redis's own
// messages go to log (see redislog.go) instead of to stderr in go-redis's
// format.
func newLocker(cfg config.Config, instance string, log *slog.Logger) (lock.Locker, *redis.Client) {
	if cfg.Redis.Addr == "" {
		return lock.NewLocal(), nil
	}
	installRedisLogger(log)
	rc := redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr, Password: cfg.Redis.Password, DB: cfg.Redis.DB})
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
