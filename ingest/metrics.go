package ingest

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count the API's answers.
type Metrics struct {
	requests *prometheus.CounterVec
}

// NewMetrics registers syncd_ingest_requests_total{route,code}.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syncd_ingest_requests_total",
		Help: "HTTP ingest API requests by route (messages, events, status, other) and status code.",
	}, []string{"route", "code"})}
	reg.MustRegister(m.requests)
	return m
}

// routeLabel names a path's route for the metric without its id, so the
// label's values stay few.
func routeLabel(r *http.Request) string {
	switch p := r.URL.Path; {
	case p == "/api/v1/messages":
		return "messages"
	case p == "/api/v1/events":
		return "events"
	case strings.HasPrefix(p, "/api/v1/messages/"):
		return "status"
	}
	return "other"
}

func (m *Metrics) count(r *http.Request, code int) {
	if m != nil {
		m.requests.WithLabelValues(routeLabel(r), strconv.Itoa(code)).Inc()
	}
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
