package poller

import (
	"math"
	"testing"
	"time"
)

// A cap near the largest Duration: the doubling must not wrap to a
// negative or tiny delay (a row retried at once, forever).
func TestBackoffNeverOverflows(t *testing.T) {
	for _, hi := range []time.Duration{5 * time.Minute, 24 * time.Hour, math.MaxInt64 / 3, math.MaxInt64} {
		p := &Poller{o: Options{BackoffBase: time.Second, BackoffMax: hi}}
		for attempt := 1; attempt <= 200; attempt++ {
			d := p.backoff(attempt)
			want := hi
			if float64(time.Second)*math.Pow(2, float64(attempt-1)) < float64(hi) {
				want = time.Second << (attempt - 1)
			}
			if d < want/2 || d > want {
				t.Fatalf("cap %v attempt %d: backoff %v, want in [%v, %v]", hi, attempt, d, want/2, want)
			}
		}
	}
}
