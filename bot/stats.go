package bot

import "sync/atomic"

// Stats are the bot's counters since New, for metrics.
type Stats struct {
	Classified     int64 // customer messages labelled, from the cache or the model
	CacheHits      int64 // of those, answered by the cache
	AutoReplies    int64 // customer messages the bot answered itself
	Suggestions    int64 // customer messages left to an agent with a suggestion
	EventReplies   int64 // events given a templated message
	ReloadFailures int64 // model or answers files that did not load on a reload
}

type counters struct {
	classified, cacheHits, autoReplies, suggestions, eventReplies, reloadFailures atomic.Int64
}

// Stats returns the counters so far.
func (s *Service) Stats() Stats {
	c := &s.counters
	return Stats{
		Classified:     c.classified.Load(),
		CacheHits:      c.cacheHits.Load(),
		AutoReplies:    c.autoReplies.Load(),
		Suggestions:    c.suggestions.Load(),
		EventReplies:   c.eventReplies.Load(),
		ReloadFailures: c.reloadFailures.Load(),
	}
}
