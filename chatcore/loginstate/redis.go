package loginstate

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis keeps the login limiter's buckets (GCRA, by
// go-redis/redis_rate, timed by the Redis server's clock) and known
// addresses in Redis, so that every instance sees the same attempts.
// Buckets are keys "rate:<prefix>login:…" (the library puts "rate:"
// first), known addresses "<prefix>login:known:…"; all expire by
// themselves. While Redis cannot be reached the limiter carries on in this
// process's memory, and says so once a minute.
type Redis struct {
	client   redis.UniversalClient
	limiter  *redis_rate.Limiter
	prefix   string
	fallback *Memory
	log      *slog.Logger

	mu         sync.Mutex
	lastLogged time.Time
	suppressed int
}

// NewRedis keeps the state under prefix ("syncd:") on client,
// which the caller owns and closes.
func NewRedis(client redis.UniversalClient, prefix string, log *slog.Logger) *Redis {
	if log == nil {
		log = slog.Default()
	}
	return &Redis{client: client, limiter: redis_rate.NewLimiter(client), prefix: prefix,
		fallback: NewMemory(10000), log: log}
}

func (s *Redis) Take(ctx context.Context, key string, b Bucket, n int) (bool, int, time.Duration, error) {
	// redis_rate counts Rate per Period: one token per Every.
	lim := redis_rate.Limit{Rate: 1, Period: b.Every, Burst: b.Burst}
	res, err := s.limiter.AllowN(ctx, s.prefix+key, lim, n)
	if err != nil {
		s.outage(ctx, "take a login token", err)
		return s.fallback.Take(ctx, key, b, n)
	}
	if n > 0 && res.Allowed < n {
		return false, 0, max(res.RetryAfter, 0), nil
	}
	return true, res.Remaining, 0, nil
}

func (s *Redis) Reset(ctx context.Context, key string) error {
	_ = s.fallback.Reset(ctx, key)
	if err := s.limiter.Reset(ctx, s.prefix+key); err != nil {
		s.outage(ctx, "reset a login bucket", err)
	}
	return nil
}

func (s *Redis) Remember(ctx context.Context, key string, ttl time.Duration) error {
	_ = s.fallback.Remember(ctx, key, ttl)
	if err := s.client.Set(ctx, s.prefix+key, "1", ttl).Err(); err != nil {
		s.outage(ctx, "remember a login address", err)
	}
	return nil
}

func (s *Redis) Remembered(ctx context.Context, key string) (bool, error) {
	n, err := s.client.Exists(ctx, s.prefix+key).Result()
	if err != nil {
		s.outage(ctx, "look up a login address", err)
		return s.fallback.Remembered(ctx, key)
	}
	return n > 0, nil
}

// outage logs a Redis failure at most once a minute, with how many it
// kept quiet about.
func (s *Redis) outage(ctx context.Context, action string, err error) {
	s.mu.Lock()
	now := time.Now()
	if now.Sub(s.lastLogged) < time.Minute {
		s.suppressed++
		s.mu.Unlock()
		return
	}
	n := s.suppressed
	s.lastLogged, s.suppressed = now, 0
	s.mu.Unlock()
	s.log.LogAttrs(ctx, slog.LevelWarn, "console login limiter: redis unreachable; limiting in this instance's memory",
		slog.String("action", action), slog.Int("suppressed", n), slog.Any("error", fmt.Errorf("%s: %w", action, err)))
}
