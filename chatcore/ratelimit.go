package chatcore

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

// LoginState keeps what the login limiter remembers. MemoryLoginState
// keeps it in this process; RedisLoginState shares it between instances,
// so that a second instance does not give an attacker more tries.
type LoginState interface {
	// Take takes n tokens (0 only looks) from the bucket named key. It
	// reports whether they were there, how many are left, and, when they
	// were not, how long until they are.
	Take(ctx context.Context, key string, b Bucket, n int) (ok bool, left int, retry time.Duration, err error)
	// Reset fills the bucket named key again.
	Reset(ctx context.Context, key string) error
	// Remember marks key for ttl; Remembered reports whether it is marked.
	Remember(ctx context.Context, key string, ttl time.Duration) error
	Remembered(ctx context.Context, key string) (bool, error)
}

var _ LoginState = (*MemoryLoginState)(nil)

// MemoryLoginState is a LoginState in an LRU of size entries, so that a
// flood of distinct keys costs bounded memory. A bucket pushed out starts
// again full; the size is chosen so that this takes far more keys than one
// attacker can rotate through before the buckets refill anyway.
type MemoryLoginState struct {
	mu      sync.Mutex
	buckets *lru.Cache[string, *rate.Limiter]
	marks   *lru.Cache[string, time.Time] // key → until
	now     func() time.Time
}

// NewMemoryLoginState keeps up to size buckets and as many marks.
func NewMemoryLoginState(size int) *MemoryLoginState {
	b, err := lru.New[string, *rate.Limiter](size)
	if err != nil {
		panic(err) // only for size <= 0
	}
	m, _ := lru.New[string, time.Time](size)
	return &MemoryLoginState{buckets: b, marks: m, now: time.Now}
}

func (s *MemoryLoginState) Take(_ context.Context, key string, b Bucket, n int) (bool, int, time.Duration, error) {
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

func (s *MemoryLoginState) Reset(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets.Remove(key)
	return nil
}

func (s *MemoryLoginState) Remember(_ context.Context, key string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks.Add(key, s.now().Add(ttl))
	return nil
}

func (s *MemoryLoginState) Remembered(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.marks.Get(key)
	return ok && s.now().Before(until), nil
}
