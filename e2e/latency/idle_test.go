package latency

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/poller"
)

// serverCPU returns the CPU time the database server process has used,
// read from /proc through the server's own @@pid_file.
func serverCPU(tb testing.TB, db *testdb.DB) time.Duration {
	tb.Helper()
	var pidFile string
	if err := db.Raw.QueryRow(`SELECT @@pid_file`).Scan(&pidFile); err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		tb.Fatalf("read the server's pid file: %v", err)
	}
	stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(raw)) + "/stat")
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command's closing parenthesis; utime and stime are
	// the 14th and 15th of the whole line, in clock ticks (100 a second
	// on Linux).
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// BenchmarkIdleCost measures what three idle instances cost the database:
// the CPU time a MariaDB server of the benchmark's own (no other client)
// spends while three pollers with the default configuration run against
// an empty message_sync, as a share of one core, beside the server alone.
// "unwatched" has no agent connected (a probe per schedule tick, 1s),
// "watched" an agent on each instance (adaptive polling: a probe every
// 100ms). Run it with -benchtime 1x; each variant idles for 30s.
func BenchmarkIdleCost(b *testing.B) {
	serverDSN := testdb.StartMariaDB(b)
	const window = 30 * time.Second
	for _, v := range []struct {
		name      string
		instances int
		watched   bool
	}{{"server_alone", 0, false}, {"3_instances_unwatched", 3, false}, {"3_instances_watched", 3, true}} {
		b.Run(v.name, func(b *testing.B) {
			db := testdb.NewMySQLOn(b, serverDSN)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rc := redis.NewClient(&redis.Options{Addr: testdb.RedisAddr()})
			defer rc.Close()
			prefix := fmt.Sprintf("syncd-idle-%d:", time.Now().UnixNano())
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			var watched atomic.Bool
			watched.Store(v.watched)
			var fast []*poller.Metrics
			for i := 0; i < v.instances; i++ {
				m := poller.NewMetrics(prometheus.NewRegistry())
				fast = append(fast, m)
				p, err := poller.New(poller.Options{
					Store: db.Store, Converter: bridge.New(bridge.Options{Logger: quiet}), Logger: quiet, Metrics: m,
					Locker:   lock.NewRedis(rc, lock.RedisOptions{Prefix: prefix, Owner: fmt.Sprintf("idle-%d", i)}),
					Instance: fmt.Sprintf("idle-%d", i), Attention: watched.Load,
				})
				if err != nil {
					b.Fatal(err)
				}
				p.Start(ctx)
				defer func() {
					sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer scancel()
					_ = p.Stop(sctx)
				}()
			}
			time.Sleep(2 * time.Second) // past the start's kick
			b.ResetTimer()
			cpu0, t0 := serverCPU(b, db), time.Now()
			time.Sleep(window)
			cpu, wall := serverCPU(b, db)-cpu0, time.Since(t0)
			b.StopTimer()
			b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "server_cpu_%_of_core")
			var probes float64
			for _, m := range fast {
				probes += testutil.ToFloat64(m.FastProbes)
			}
			b.ReportMetric(probes/wall.Seconds(), "fast_probes/s")
		})
	}
}
