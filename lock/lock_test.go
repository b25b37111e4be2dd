package lock

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testBundle is one test's view of the real Redis: a client and a key prefix
// no other test uses, so tests can run in parallel.
type testBundle struct {
	client *redis.Client
	prefix string
	logs   *syncBuffer
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	addr := os.Getenv("SYNCD_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("redis at %s (SYNCD_TEST_REDIS_ADDR): %v", addr, err)
	}

	prefix := "syncd:test:" + t.Name() + ":" + rand.Text() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := client.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			_ = client.Del(ctx, keys...).Err()
		}
	})
	return &testBundle{client: client, prefix: prefix, logs: &syncBuffer{}}
}

// locker returns a RedisLocker for owner that logs into b.logs.
func (b *testBundle) locker(owner string, ttl time.Duration) *RedisLocker {
	return NewRedis(b.client, RedisOptions{
		TTL:    ttl,
		Prefix: b.prefix,
		Owner:  owner,
		Logger: slog.New(slog.NewTextHandler(b.logs, nil)),
	})
}

// mustAcquire takes key and releases it when the test ends.
func mustAcquire(t *testing.T, l Locker, key string) Lease {
	t.Helper()
	lease, err := l.TryAcquire(t.Context(), key)
	if err != nil {
		t.Fatalf("TryAcquire(%q): %v", key, err)
	}
	t.Cleanup(func() { _ = lease.Release(context.Background()) })
	return lease
}

func requireNotAcquired(t *testing.T, l Locker, key string) {
	t.Helper()
	lease, err := l.TryAcquire(t.Context(), key)
	if err == nil {
		_ = lease.Release(context.Background())
		t.Fatalf("TryAcquire(%q) succeeded, want ErrNotAcquired", key)
	}
	if !errors.Is(err, ErrNotAcquired) {
		t.Fatalf("TryAcquire(%q) = %v, want ErrNotAcquired", key, err)
	}
}

func requireHolder(t *testing.T, l Locker, key, want string) {
	t.Helper()
	got, err := l.Holder(t.Context(), key)
	if err != nil {
		t.Fatalf("Holder(%q): %v", key, err)
	}
	if got != want {
		t.Fatalf("Holder(%q) = %q, want %q", key, got, want)
	}
}

func TestRedisExclusive(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, other := b.locker("host-a-1", 0), b.locker("host-b-2", 0)

	mustAcquire(t, a, "shard-0")
	requireNotAcquired(t, other, "shard-0")
	requireNotAcquired(t, a, "shard-0") // not reentrant
	requireHolder(t, other, "shard-0", "host-a-1")
	requireHolder(t, other, "shard-1", "")

	mustAcquire(t, other, "shard-1")
	requireHolder(t, a, "shard-1", "host-b-2")

	if !a.Distributed() {
		t.Error("Distributed() = false, want true")
	}
	if err := a.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestRedisOwnerWithColon(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mustAcquire(t, b.locker("pod:7", 0), "k")
	requireHolder(t, b.locker("x", 0), "k", "pod:7")
}

func TestRedisLeaseOutlivesTTL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const ttl = 300 * time.Millisecond
	a, other := b.locker("a", ttl), b.locker("b", ttl)

	lease := mustAcquire(t, a, "k")
	select {
	case <-lease.Context().Done():
		t.Fatalf("lease lost: %v", context.Cause(lease.Context()))
	case <-time.After(4 * ttl):
	}
	requireNotAcquired(t, other, "k")
	requireHolder(t, other, "k", "a")
}

func TestRedisLeaseLost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(ctx context.Context, c *redis.Client, key string) error
		holder string // after the tampering
	}{
		{
			name: "deleted",
			tamper: func(ctx context.Context, c *redis.Client, key string) error {
				return c.Del(ctx, key).Err()
			},
			holder: "",
		},
		{
			name: "overwritten",
			tamper: func(ctx context.Context, c *redis.Client, key string) error {
				return c.Set(ctx, key, "intruder:XYZ", time.Minute).Err()
			},
			holder: "intruder",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			const ttl = 300 * time.Millisecond
			a := b.locker("a", ttl)
			lease := mustAcquire(t, a, "k")

			if err := tt.tamper(t.Context(), b.client, b.prefix+"k"); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			// An extension runs every ttl/3; the loss must be seen before
			// the lock would have expired.
			select {
			case <-lease.Context().Done():
			case <-time.After(ttl):
				t.Fatal("lease context not cancelled after the lock was lost")
			}
			if cause := context.Cause(lease.Context()); errors.Is(cause, errReleased) {
				t.Errorf("cause = %v, want an extension failure", cause)
			}
			if logs := b.logs.String(); !strings.Contains(logs, "lock lease lost") || !strings.Contains(logs, "lock_key=k") {
				t.Errorf("no warning logged; logs:\n%s", logs)
			}

			if err := lease.Release(t.Context()); err != nil {
				t.Errorf("Release after loss: %v", err)
			}
			requireHolder(t, a, "k", tt.holder) // Release left the intruder alone
		})
	}
}

func TestRedisRelease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, other := b.locker("a", 0), b.locker("b", 0)

	lease := mustAcquire(t, a, "k")
	if err := lease.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if cause := context.Cause(lease.Context()); !errors.Is(cause, errReleased) {
		t.Errorf("lease context cause = %v, want errReleased", cause)
	}
	requireHolder(t, a, "k", "")

	mustAcquire(t, other, "k")
	if err := lease.Release(t.Context()); err != nil {
		t.Errorf("second Release: %v", err)
	}
	requireHolder(t, a, "k", "b") // the old lease did not free b's lock
}

func TestRedisReleaseConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lease := mustAcquire(t, b.locker("a", 0), "k")

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := lease.Release(context.Background()); err != nil {
				t.Errorf("Release: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestRedisUnreachable(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	defer client.Close()
	l := NewRedis(client, RedisOptions{Logger: slog.New(slog.DiscardHandler)})

	lease, err := l.TryAcquire(t.Context(), "k")
	if err == nil {
		_ = lease.Release(context.Background())
		t.Fatal("TryAcquire succeeded against no Redis")
	}
	if errors.Is(err, ErrNotAcquired) {
		t.Errorf("TryAcquire = %v, must not be ErrNotAcquired", err)
	}
	if err := l.Ping(t.Context()); err == nil {
		t.Error("Ping succeeded against no Redis")
	}
	if _, err := l.Holder(t.Context(), "k"); err == nil {
		t.Error("Holder succeeded against no Redis")
	}
}

func TestLocal(t *testing.T) {
	t.Parallel()
	l := NewLocal()

	lease := mustAcquire(t, l, "k")
	requireNotAcquired(t, l, "k")
	requireHolder(t, l, "k", "local")
	requireHolder(t, l, "other", "")

	if err := lease.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	select {
	case <-lease.Context().Done():
	default:
		t.Fatal("lease context not cancelled by Release")
	}
	requireHolder(t, l, "k", "")

	mustAcquire(t, l, "k")
	if err := lease.Release(t.Context()); err != nil {
		t.Errorf("second Release: %v", err)
	}
	requireHolder(t, l, "k", "local") // the old lease did not free the new one

	if l.Distributed() {
		t.Error("Distributed() = true, want false")
	}
	if err := l.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestLocalCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := NewLocal().TryAcquire(ctx, "k")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("TryAcquire = %v, want context.Canceled", err)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
