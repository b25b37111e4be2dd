// Package loginstate keeps what the console's login limiter remembers
// (token buckets per address and agent, and the addresses an agent logged
// in from): in this process (Memory), or in Redis, shared by every
// instance (Redis), so that a second instance gives an attacker no more
// tries. Both satisfy chatcore.LoginState, declared where it is used.
package loginstate

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Bucket is a token bucket: Burst tokens at once, one more every Every.
type Bucket struct {
	Burst int
	Every time.Duration
}

// Memory is a login state in an LRU of size entries, so that a
// flood of distinct keys costs bounded memory. A bucket pushed out starts
// again full; the size is chosen so that this takes far more keys than one
// attacker can rotate through before the buckets refill anyway.
type Memory struct {
	mu      sync.Mutex
	buckets *lru.Cache[string, *rate.Limiter]
	marks   *lru.Cache[string, time.Time] // key → until
	now     func() time.Time
}

// NewMemory keeps up to size buckets and as many marks.
func NewMemory(size int) *Memory {
	b, err := lru.New[string, *rate.Limiter](size)
	if err != nil {
		panic(err) // only for size <= 0
	}
	m, _ := lru.New[string, time.Time](size)
	return &Memory{buckets: b, marks: m, now: time.Now}
}

func (s *Memory) Take(_ context.Context, key string, b Bucket, n int) (bool, int, time.Duration, error) {
	now := s.now()
	s.mu.Lock()
	l, ok := s.buckets.Get(key)
	if !ok {
		l = rate.NewLimiter(rate.Every(b.Every), b.Burst)
		s.buckets.Add(key, l)
	}
	s.mu.Unlock()
	if n == 0 {
		return true, int(l.TokensAt(now)), 0, nil
	}
	r := l.ReserveN(now, n)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, 0, d, nil
	}
	return true, int(l.TokensAt(now)), 0, nil
}

func (s *Memory) Reset(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets.Remove(key)
	return nil
}

func (s *Memory) Remember(_ context.Context, key string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks.Add(key, s.now().Add(ttl))
	return nil
}

func (s *Memory) Remembered(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.marks.Get(key)
	return ok && s.now().Before(until), nil
}
