package ops

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd-dev/syncd/store"
)

// BacklogSource is the store's backlog counter.
type BacklogSource interface {
	Stats(ctx context.Context, withSent bool) (store.Stats, error)
}

// Backlog keeps syncd_backlog_rows and syncd_oldest_pending_seconds fresh.
type Backlog struct {
	src      BacklogSource
	interval time.Duration
	log      *slog.Logger
	rows     *prometheus.GaugeVec
	oldest   prometheus.Gauge
}

// NewBacklog registers the backlog gauges on reg.
func NewBacklog(reg prometheus.Registerer, log *slog.Logger, src BacklogSource, interval time.Duration) *Backlog {
	b := &Backlog{src: src, interval: interval, log: log,
		rows: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "syncd_backlog_rows",
			Help: "message_sync rows by status (sent is not counted: it only grows)."}, []string{"status"}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_oldest_pending_seconds",
			Help: "Age of the oldest pending row; 0 when none."}),
	}
	reg.MustRegister(b.rows, b.oldest)
	return b
}

// Run refreshes the gauges until ctx ends. Errors are logged at debug level:
// readiness already reports an unreachable database.
func (b *Backlog) Run(ctx context.Context) {
	t := time.NewTicker(b.interval)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := b.src.Stats(qctx, false)
		cancel()
		if err == nil {
			for k, v := range st.ByStatus {
				b.rows.WithLabelValues(k).Set(float64(v))
			}
			b.oldest.Set(st.OldestPendingAge.Seconds())
		} else if ctx.Err() == nil {
			b.log.Debug("refresh backlog gauges", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
