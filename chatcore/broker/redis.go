package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configures a Redis; zero means default.
type RedisOptions struct {
	// Channel is the pub/sub channel. Default "syncd:console".
	Channel string
	// Logger receives outage warnings. Default slog.Default().
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between attempts to
	// resubscribe after a failure. Defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// HealthInterval is how long the subscription may be silent before it
	// pings Redis to find out whether the connection still lives.
	// Default 15s.
	HealthInterval time.Duration
}

// Redis is a chatcore.Broker on Redis pub/sub. It does not own the client:
// the caller closes it after the chat core has stopped.
type Redis struct {
	client redis.UniversalClient
	o      RedisOptions
}

// NewRedis returns a Redis publishing on client.
func NewRedis(client redis.UniversalClient, o RedisOptions) *Redis {
	if o.Channel == "" {
		o.Channel = "syncd:console"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = 15 * time.Second
	}
	return &Redis{client: client, o: o}
}

// Publish sends payload on the channel.
func (b *Redis) Publish(ctx context.Context, payload []byte) error {
	if err := b.client.Publish(ctx, b.o.Channel, payload).Err(); err != nil {
		return fmt.Errorf("publish to redis: %w", err)
	}
	return nil
}

// Subscribe listens on the channel until ctx is done. After a failure it
// logs, waits (doubling from MinBackoff up to MaxBackoff) and subscribes
// again; what was published meanwhile is lost and left to the sweep.
func (b *Redis) Subscribe(ctx context.Context, deliver func([]byte)) error {
	wait := b.o.MinBackoff
	failed := false
	for {
		ok, err := b.listen(ctx, deliver, failed)
		if ctx.Err() != nil {
			return nil
		}
		if ok {
			wait = b.o.MinBackoff // the subscription had worked: start over
		}
		failed = true
		b.o.Logger.LogAttrs(ctx, slog.LevelWarn, "redis subscription lost; retrying",
			slog.String("channel", b.o.Channel), slog.Duration("retry_in", wait), slog.Any("error", err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(2*wait, b.o.MaxBackoff)
	}
}

// listen runs one subscription until it fails or ctx is done. ok reports
// whether the subscription was confirmed before it failed; retry says that
// an earlier one failed, so that the recovery is logged.
func (b *Redis) listen(ctx context.Context, deliver func([]byte), retry bool) (ok bool, err error) {
	ps := b.client.Subscribe(ctx)
	defer ps.Close()
	// go-redis does not stop a blocked read on ctx; closing the PubSub does.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = ps.Close()
		close(closed)
	})
	defer func() {
		if !stop() {
			<-closed // it ran: wait, so that no goroutine outlives listen
		}
	}()
	if err := ps.Subscribe(ctx, b.o.Channel); err != nil {
		return false, fmt.Errorf("subscribe %s: %w", b.o.Channel, err)
	}
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.o.HealthInterval)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				// Silent for a while: ask, so a dead connection shows.
				pinged = true
				if err := ps.Ping(ctx); err != nil {
					return ok, fmt.Errorf("ping redis subscription: %w", err)
				}
				continue
			}
			return ok, fmt.Errorf("receive from redis: %w", err)
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && !ok {
				ok = true
				if retry {
					b.o.Logger.LogAttrs(ctx, slog.LevelInfo, "redis subscription restored", slog.String("channel", b.o.Channel))
				}
			}
		case *redis.Message:
			deliver([]byte(m.Payload))
		case *redis.Pong:
		}
	}
}
