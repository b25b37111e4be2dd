package poller

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the relay's Prometheus series.
type Metrics struct {
	Claimed      prometheus.Counter
	Sent         prometheus.Counter
	Failed       prometheus.Counter
	Retried      prometheus.Counter
	TakenBack    prometheus.Counter
	Orphaned     prometheus.Counter
	ClaimsLost   prometheus.Counter
	LockAcquired prometheus.Counter
	LockLost     prometheus.Counter
	BotReplies   *prometheus.CounterVec // by kind: message, event
	Suggestions  prometheus.Counter
	Handoffs     prometheus.Counter
	Wakeups      prometheus.Counter
	FastProbes   prometheus.Counter
	Errors       *prometheus.CounterVec
	Panics       *prometheus.CounterVec // by stage: batch, recover, row, publish, shard
	Batch        prometheus.Histogram
	Latency      prometheus.Histogram
}

// NewMetrics registers the relay's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Claimed:      prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_rows_claimed_total", Help: "message_sync rows claimed."}),
		Sent:         prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_rows_sent_total", Help: "Rows relayed and marked sent."}),
		Failed:       prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_rows_failed_total", Help: "Rows marked failed (invalid, or out of attempts)."}),
		Retried:      prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_rows_retried_total", Help: "Rows put back for a later retry."}),
		TakenBack:    prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_rows_taken_back_total", Help: "Abandoned processing rows returned to pending."}),
		ClaimsLost:   prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_claims_lost_total", Help: "Fenced write-backs that found their claim taken and rolled back."}),
		LockAcquired: prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_lock_acquisitions_total", Help: "Shard locks acquired."}),
		LockLost:     prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_lock_losses_total", Help: "Shard locks lost while relaying."}),
		BotReplies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_bot_replies_total",
			Help: "Replies the intent bot sent with a committed relay batch: kind=message for a confident answer to a customer, kind=event for an event's template."},
			[]string{"kind"}),
		Suggestions: prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_bot_suggestions_total",
			Help: "Relayed customer messages left to an agent with the intent bot's suggestion."}),
		Handoffs: prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_bot_handoffs_total",
			Help: "Relayed customer messages in which the customer asked for a person: left waiting and marked wants_agent."}),
		Wakeups: prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_poller_wakeups_total",
			Help: "Probes for work run at once because the database notified new rows (PostgreSQL with database.notify), besides the schedule's."}),
		FastProbes: prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_poller_fast_probes_total",
			Help: "Probes for work run every poller.fast_interval because the poller was busy or an agent's console was open here, besides the schedule's."}),
		Orphaned: prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_rows_orphaned_total",
			Help: "Processing rows with no claim in flight (set by hand, or by an older syncd) returned to pending, or to sent if already in history."}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_relay_errors_total", Help: "Relay errors by stage."},
			[]string{"stage"}),
		Panics: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_relay_panics_total",
			Help: "Panics recovered while relaying, by stage (a bug in syncd; the rows that cause one fail with the reason)."},
			[]string{"stage"}),
		Batch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "syncd_batch_duration_seconds",
			Help: "Time to convert and commit one claimed batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "syncd_relay_latency_seconds",
			Help: "From message_sync.created_at to the commit that relayed the row.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
	}
	for _, kind := range []string{"message", "event"} {
		m.BotReplies.WithLabelValues(kind) // present at 0 from the start
	}
	reg.MustRegister(m.Claimed, m.Sent, m.Failed, m.Retried, m.TakenBack, m.Orphaned, m.ClaimsLost, m.LockAcquired, m.LockLost,
		m.BotReplies, m.Suggestions, m.Handoffs, m.Wakeups, m.FastProbes, m.Errors, m.Panics, m.Batch, m.Latency)
	return m
}
