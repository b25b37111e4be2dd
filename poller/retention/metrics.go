package retention

import "github.com/prometheus/client_golang/prometheus"

// Metrics are retention's Prometheus series.
type Metrics struct {
	Deleted *prometheus.CounterVec // by table
	Errors  *prometheus.CounterVec // by table
}

// NewMetrics registers retention's series on reg; nil registers nothing
// (`syncd purge`).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Deleted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_retention_deleted_total",
			Help: "Expired rows retention deleted, by table."}, []string{"table"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_retention_errors_total",
			Help: "Retention batches that failed, by table."}, []string{"table"}),
	}
	if reg != nil {
		reg.MustRegister(m.Deleted, m.Errors)
	}
	return m
}
