package presence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configures a Redis; zero means default.
type RedisOptions struct {
	// Prefix starts every key: <Prefix> is the index of instances (a
	// sorted set scored by each one's last heartbeat), <Prefix>:<Instance>
	// the set of an instance's agents. Default "syncd:presence".
	Prefix string
	// Instance names this process; it must differ between the instances
	// that share Redis (chatcore.Options.Instance). Required.
	Instance string
	// TTL is how long an instance's agents stay online after its last
	// heartbeat; it beats every TTL/3, and at once when an agent comes or
	// goes. Default 15s.
	TTL time.Duration
	// Logger receives outage warnings. Default slog.Default().
	Logger *slog.Logger
}

// Redis is the presence of a deployment of several instances. Each
// instance counts its own sockets (Memory) and publishes the names in a
// set that expires after TTL unless the next heartbeat renews it. It does
// not own the client: the caller closes it after Run has returned.
type Redis struct {
	*Memory
	client redis.UniversalClient
	o      RedisOptions
	key    string
	kick   chan struct{} // cap 1: beat now, an agent came or went
}

// NewRedis returns a Redis on client for the instance o.Instance.
func NewRedis(client redis.UniversalClient, o RedisOptions) (*Redis, error) {
	if o.Instance == "" {
		return nil, errors.New("presence: RedisOptions.Instance is required")
	}
	if o.Prefix == "" {
		o.Prefix = "syncd:presence"
	}
	if o.TTL <= 0 {
		o.TTL = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	r := &Redis{Memory: NewMemory(), client: client, o: o, key: o.Prefix + ":" + o.Instance, kick: make(chan struct{}, 1)}
	r.Memory.changed = func() {
		select {
		case r.kick <- struct{}{}:
		default: // a beat is due already; it reads the names then
		}
	}
	return r, nil
}

// staleAfter is how old an index entry may be before Online drops it; its
// set has long expired by then (Redis's clock), so instance clocks a little
// apart cannot hide a live instance.
func (r *Redis) staleAfter() time.Duration { return max(10*r.o.TTL, time.Minute) }

// Run beats until ctx is done, then removes this instance's agents at
// once (a clean stop need not wait for the TTL) and returns nil. A failed
// beat is logged once per outage; the next tick tries again.
func (r *Redis) Run(ctx context.Context) error {
	tick := time.NewTicker(max(r.o.TTL/3, time.Millisecond))
	defer tick.Stop()
	var down time.Time
	for {
		err := r.beat(ctx)
		switch {
		case err != nil && ctx.Err() == nil && down.IsZero():
			down = time.Now()
			r.o.Logger.LogAttrs(ctx, slog.LevelWarn, "presence heartbeat failed; agents of this instance look offline to the others after the TTL",
				slog.String("instance", r.o.Instance), slog.Duration("ttl", r.o.TTL), slog.Any("error", err))
		case err == nil && !down.IsZero():
			r.o.Logger.LogAttrs(ctx, slog.LevelInfo, "presence heartbeat works again",
				slog.String("instance", r.o.Instance), slog.Duration("outage", time.Since(down)))
			down = time.Time{}
		}
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_, err := r.client.TxPipelined(cctx, func(p redis.Pipeliner) error {
				p.Del(cctx, r.key)
				p.ZRem(cctx, r.o.Prefix, r.o.Instance)
				return nil
			})
			cancel()
			if err != nil {
				r.o.Logger.LogAttrs(ctx, slog.LevelDebug, "presence: remove this instance", slog.Any("error", err))
			}
			return nil
		case <-tick.C:
		case <-r.kick:
		}
	}
}

// beat replaces this instance's set with the agents connected now.
func (r *Redis) beat(ctx context.Context) error {
	names := r.local()
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.key)
		if len(names) == 0 {
			p.ZRem(ctx, r.o.Prefix, r.o.Instance)
			return nil
		}
		members := make([]any, len(names))
		for i, n := range names {
			members[i] = n
		}
		p.SAdd(ctx, r.key, members...)
		p.PExpire(ctx, r.key, r.o.TTL)
		p.ZAdd(ctx, r.o.Prefix, redis.Z{Score: float64(time.Now().UnixMilli()), Member: r.o.Instance})
		return nil
	})
	if err != nil {
		return fmt.Errorf("presence heartbeat: %w", err)
	}
	return nil
}

// Online returns the agents online on any instance, sorted: this
// instance's as they are now, the others' as of their last heartbeat. When
// Redis fails it returns this instance's agents with the error.
func (r *Redis) Online(ctx context.Context) ([]string, error) {
	out := r.local()
	cutoff := strconv.FormatInt(time.Now().Add(-r.staleAfter()).UnixMilli(), 10)
	instances, err := r.client.ZRangeByScore(ctx, r.o.Prefix, &redis.ZRangeBy{Min: cutoff, Max: "+inf"}).Result()
	if err != nil {
		return out, fmt.Errorf("read online instances: %w", err)
	}
	cmds, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, r.o.Prefix, "-inf", "("+cutoff)
		for _, in := range instances {
			if in != r.o.Instance {
				p.SMembers(ctx, r.o.Prefix+":"+in)
			}
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("read online agents: %w", err)
	}
	for _, c := range cmds {
		if sm, ok := c.(*redis.StringSliceCmd); ok {
			out = append(out, sm.Val()...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
