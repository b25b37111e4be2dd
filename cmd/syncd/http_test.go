package main

import (
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/ops"
)

const testToken = "0123456789abcdef-metrics"

// frontDoorRoutes lists every route of both listeners and who may use it;
// the console's own routes (/, /api/*, /ws) are in chatcore's route test,
// here a stub answers 299 for them. A route added to either listener must
// be added here.
var frontDoorRoutes = []struct {
	listener, path string
	hdr            map[string]string
	want           int
}{
	{"console", "/healthz", nil, 200},
	{"console", "/readyz", nil, 200},
	{"console", "/metrics", nil, 401}, // a token is configured: it is needed, locally too
	{"console", "/metrics", map[string]string{"Authorization": "Bearer " + testToken}, 200},
	{"console", "/metrics", map[string]string{"Authorization": "Bearer " + testToken + "x"}, 401},
	{"console", "/metrics", map[string]string{"Authorization": "Basic " + testToken}, 401},
	{"console", "/", nil, 299},
	{"console", "/api/login", nil, 299},
	{"console", "/ws", nil, 299},
	{"admin", "/healthz", nil, 200},
	{"admin", "/readyz", nil, 200},
	{"admin", "/metrics", nil, 200}, // firewalled by the operator: no token
	{"admin", "/", nil, 404},        // the console is not on the admin listener
	{"admin", "/api/login", nil, 404},
	{"admin", "/ws", nil, 404},
}

func TestFrontDoorRoutes(t *testing.T) {
	cfg := config.Default()
	cfg.HTTP.Addr, cfg.HTTP.AdminAddr, cfg.HTTP.MetricsToken = "127.0.0.1:0", "127.0.0.1:0", testToken
	var logs lockedLog
	log := slog.New(slog.NewTextHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	ready := ops.NewReadiness(reg, log, time.Hour)
	ready.ProbeNow(t.Context())
	console := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })
	fd, err := openFrontDoor(cfg, ready, reg, console, log)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.shutdown()
	addrs := map[string]string{}
	for _, m := range regexp.MustCompile(`msg="(admin )?http listening".* addr=(\S+)`).FindAllStringSubmatch(logs.String(), -1) {
		addrs[map[bool]string{true: "admin", false: "console"}[m[1] != ""]] = m[2]
	}
	if len(addrs) != 2 {
		t.Fatalf("listeners in the log: %v\n%s", addrs, logs.String())
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, r := range frontDoorRoutes {
		req, _ := http.NewRequest("GET", "http://"+addrs[r.listener]+r.path, nil)
		for k, v := range r.hdr {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", r.listener, r.path, err)
			continue
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != r.want {
			t.Errorf("%s %s %v: %d %s, want %d", r.listener, r.path, r.hdr, res.StatusCode, body, r.want)
		}
		if r.path == "/metrics" && res.StatusCode == 200 && !strings.Contains(string(body), "syncd_http_connections{listener=") {
			t.Errorf("%s /metrics lacks the listeners' gauges", r.listener)
		}
	}
	// The server's timeouts are set.
	for i, srv := range fd.servers {
		if srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.ReadHeaderTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
			t.Errorf("server %d lacks a timeout or limit: %+v", i, srv)
		}
	}
}

type lockedLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
