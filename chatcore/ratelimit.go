package chatcore

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// limiterSet keeps one token bucket per key (a username or a client IP) in
// an LRU, so that a flood of distinct keys costs bounded memory. A key
// pushed out of the LRU starts again with a full bucket; the size is chosen
// so that this takes far more keys than one attacker can rotate through
// before the buckets refill anyway.
type limiterSet struct {
	mu    sync.Mutex
	cache *lru.Cache[string, *rate.Limiter]
	every time.Duration
	burst int
}

func newLimiterSet(size int, every time.Duration, burst int) *limiterSet {
	c, err := lru.New[string, *rate.Limiter](size)
	if err != nil {
		panic(err) // only for size <= 0, which callers never pass
	}
	return &limiterSet{cache: c, every: every, burst: burst}
}

// allow takes one token for key and, when there is none, says how long
// until there is.
func (s *limiterSet) allow(key string, now time.Time) (bool, time.Duration) {
	s.mu.Lock()
	l, ok := s.cache.Get(key)
	if !ok {
		l = rate.NewLimiter(rate.Every(s.every), s.burst)
		s.cache.Add(key, l)
	}
	s.mu.Unlock()
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// loginLimiter limits login attempts per username and per client IP; an
// attempt needs a token from both.
type loginLimiter struct {
	users *limiterSet
	ips   *limiterSet
}

func newLoginLimiter(o Options) *loginLimiter {
	return &loginLimiter{
		users: newLimiterSet(10000, o.LoginUserEvery, o.LoginUserBurst),
		ips:   newLimiterSet(10000, o.LoginIPEvery, o.LoginIPBurst),
	}
}

// allow reports whether a login attempt may go on; when not, it says when
// to retry.
func (l *loginLimiter) allow(username, ip string, now time.Time) (bool, time.Duration) {
	if ok, d := l.ips.allow(ip, now); !ok {
		return false, d
	}
	return l.users.allow(username, now)
}
