package webhook

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the worker's Prometheus series.
type Metrics struct {
	deliveries *prometheus.CounterVec
	backlog    prometheus.Gauge
}

// NewMetrics registers syncd_webhook_deliveries_total{result} and
// syncd_webhook_backlog with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_webhook_deliveries_total",
			Help: "Webhook POSTs of replies by result: delivered (2xx), retried (network error, timeout, 408, 429, 5xx; backoff), " +
				"failed (refused with another 4xx, or webhook.max_attempts reached), lost (the claim was taken back before the result was written)."},
			[]string{"result"}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_webhook_backlog",
			Help: "Replies waiting for webhook delivery (pending or being delivered), as this instance last counted them."}),
	}
	for _, r := range []string{"delivered", "retried", "failed", "lost"} {
		m.deliveries.WithLabelValues(r)
	}
	reg.MustRegister(m.deliveries, m.backlog)
	return m
}

func (m *Metrics) count(result string) {
	if m != nil {
		m.deliveries.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) setBacklog(n int64) {
	if m != nil {
		m.backlog.Set(float64(n))
	}
}
