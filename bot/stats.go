package bot

import "sync/atomic"

// Stats are the bot's counters since New, for metrics. What it answered is
// counted by the poller, once the answer has committed.
type Stats struct {
	Classified     int64 // customer messages labelled, from the cache or the model
	CacheHits      int64 // of those, answered by the cache
	ReloadFailures int64 // model or answers files that did not load on a reload
}

type counters struct {
	classified, cacheHits, reloadFailures atomic.Int64
}

// Stats returns the counters so far.
func (s *Service) Stats() Stats {
	c := &s.counters
	return Stats{
		Classified:     c.classified.Load(),
		CacheHits:      c.cacheHits.Load(),
		ReloadFailures: c.reloadFailures.Load(),
	}
}
