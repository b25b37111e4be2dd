package ingest

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters are the token buckets of the keys, one per key name, in this
// process: a key may send rate requests a second to each instance.
// Only authenticated keys get one, so there are as many as keys.
type limiters struct {
	rate  rate.Limit
	burst int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// allow takes a token for key, or says how long until one is there.
func (l *limiters) allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	lim, found := l.m[key]
	if !found {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.m[key] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // refused: the token goes back
		return false, d
	}
	return true, 0
}

// retryAfterSeconds is d as Retry-After says it: whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
