package ops

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestReadinessFollowsDependencies(t *testing.T) {
	var dbDown atomic.Bool
	reg := prometheus.NewRegistry()
	r := NewReadiness(reg, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour,
		Check{Name: "database", Probe: func(context.Context) error {
			if dbDown.Load() {
				return errors.New("dial tcp 127.0.0.1:3306: connection refused")
			}
			return nil
		}},
		Check{Name: "redis", Probe: func(context.Context) error { return nil }},
	)
	srv := httptest.NewServer(Mux(r, reg, MetricsAccess{Open: true}))
	defer srv.Close()
	get := func() (int, map[string]any) {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	if code, _ := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("before the first probe: %d, want 503", code)
	}
	r.ProbeNow(context.Background())
	if code, body := get(); code != http.StatusOK || body["ready"] != true {
		t.Fatalf("all up: %d %v", code, body)
	}
	dbDown.Store(true)
	r.ProbeNow(context.Background())
	code, body := get()
	checks := body["checks"].(map[string]any)
	if code != http.StatusServiceUnavailable || checks["redis"] != "ok" || checks["database"] == "ok" {
		t.Fatalf("database down: %d %v", code, body)
	}
	if up := testutil.ToFloat64(r.up.WithLabelValues("database")); up != 0 {
		t.Fatalf("syncd_dependency_up{database} = %v", up)
	}
	dbDown.Store(false)
	r.ProbeNow(context.Background())
	if code, _ := get(); code != http.StatusOK {
		t.Fatalf("after recovery: %d", code)
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestMetricsAccess(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := NewReadiness(reg, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	for _, tc := range []struct {
		name   string
		access MetricsAccess
		peer   string
		host   string
		hdr    map[string]string
		want   int
	}{
		{"admin listener", MetricsAccess{Open: true}, "192.0.2.1:5000", "syncd:9090", nil, 200},
		{"local curl", MetricsAccess{}, "127.0.0.1:5000", "127.0.0.1:8080", nil, 200},
		{"local, localhost", MetricsAccess{}, "[::1]:5000", "localhost:8080", nil, 200},
		{"remote", MetricsAccess{}, "192.0.2.1:5000", "syncd:8080", nil, 403},
		{"through a local proxy", MetricsAccess{}, "127.0.0.1:5000", "127.0.0.1:8080", map[string]string{"X-Forwarded-For": "192.0.2.1"}, 403},
		{"rebound name in a local browser", MetricsAccess{}, "127.0.0.1:5000", "evil.example:8080", nil, 403},
		{"token", MetricsAccess{Token: "0123456789abcdef"}, "192.0.2.1:5000", "syncd:8080", map[string]string{"Authorization": "Bearer 0123456789abcdef"}, 200},
		{"wrong token", MetricsAccess{Token: "0123456789abcdef"}, "192.0.2.1:5000", "syncd:8080", map[string]string{"Authorization": "Bearer 0123456789abcdeX"}, 401},
		{"no token sent", MetricsAccess{Token: "0123456789abcdef"}, "127.0.0.1:5000", "127.0.0.1:8080", nil, 401},
	} {
		req := httptest.NewRequest("GET", "http://"+tc.host+"/metrics", nil)
		req.RemoteAddr = tc.peer
		for k, v := range tc.hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		Mux(r, reg, tc.access).ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, rec.Code, rec.Body.String(), tc.want)
		}
		if tc.want != 200 && strings.Contains(rec.Body.String(), "# HELP") {
			t.Errorf("%s: refused, but the body has metrics", tc.name)
		}
	}
}
