package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/ingest"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// BenchmarkIngest: POST /api/v1/messages over loopback HTTP with keep-alive
// connections, from a fixed number of concurrent clients, into each
// database. b.N requests in all (bound it with -benchtime=Nx); every
// request has an Idempotency-Key of its own, so each writes a row. It
// reports requests a second and the p50 and p99 latency a client saw.
// The relay is not running: this is the API's own cost.
//
//	flock /tmp/syncd-bench.lock go test -run '^$' -bench BenchmarkIngest -benchtime 4000x ./ingest/
func BenchmarkIngest(b *testing.B) {
	for _, driver := range testdb.AllDialects {
		for _, clients := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", driver, clients), func(b *testing.B) { benchIngest(b, driver, clients) })
		}
	}
}

func benchIngest(b *testing.B, driver string, clients int) {
	db := testdb.New(b, driver)
	key, hash, prefix, err := ingest.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Store.AddAPIKey(context.Background(), store.APIKey{Name: "bench", Hash: hash, Prefix: prefix, Scope: ingest.Scope}); err != nil {
		b.Fatal(err)
	}
	h, err := ingest.New(ingest.Options{Keys: db.Store, Rows: db.Store, Validator: bridge.New(bridge.Options{}),
		Rate: 1e9, Burst: 1 << 30, KeyCache: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h) // 127.0.0.1
	defer srv.Close()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()

	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // bounded in time as well as count
	defer cancel()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) || ctx.Err() != nil {
					return
				}
				body := fmt.Sprintf(`{"conversation_key":"bench-%d","body":"Where is my parcel? %d","sender_name":"Ann","payload":{"order_id":%d}}`, i%500, i, i)
				req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/v1/messages", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", i))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
	done := min(int(next.Load()), b.N)
	lat = lat[:done]
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(float64(done)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	var rows int
	if err := db.Raw.QueryRow(`SELECT COUNT(*) FROM message_sync`).Scan(&rows); err != nil || rows != done {
		b.Fatalf("%d rows (%v) for %d requests", rows, err, done)
	}
}
