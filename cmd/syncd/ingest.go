package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/ingest"
	"github.com/syncd-dev/syncd/store"
)

// newIngest is the HTTP ingest API over the store, checking rows with the
// relay's own limits; with ingest.enabled false, a 404 for every route.
func newIngest(cfg config.Config, st *store.Store, reg prometheus.Registerer, log *slog.Logger) (http.Handler, error) {
	if !cfg.Ingest.Enabled {
		log.Info("http ingest off: ingest.enabled is false")
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "the HTTP ingest API is off (ingest.enabled)"})
		}), nil
	}
	h, err := ingest.New(ingest.Options{
		Keys: st, Rows: st,
		Validator:       bridge.New(bridge.Options{MaxBodyBytes: cfg.Relay.MaxBodyBytes, MaxPayloadBytes: cfg.Relay.MaxPayloadBytes, Logger: log}),
		MaxBodyBytes:    cfg.Relay.MaxBodyBytes,
		MaxPayloadBytes: cfg.Relay.MaxPayloadBytes,
		Rate:            cfg.Ingest.Rate,
		Burst:           cfg.Ingest.Burst,
		KeyCache:        cfg.Ingest.KeyCache,
		Logger:          log.With(slog.String("component", "ingest")),
		Metrics:         ingest.NewMetrics(reg),
	})
	if err != nil {
		return nil, fmt.Errorf("start http ingest: %w", err)
	}
	return h, nil
}

// withIngest mounts the ingest API at /api/v1/ beside the console on
// http.addr. It is not under the console's /api/ guard: it takes no
// session cookie and no Origin, only its bearer key, but the same Host
// check, and the listener's timeouts and connection limits.
func withIngest(core *chatcore.Core, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", core.CheckHost(api))
	mux.Handle("/", core.Handler())
	return mux
}
