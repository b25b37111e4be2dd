package bench

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/internal/testdb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testConfig is a small run against the test servers (SYNCD_TEST_MYSQL_DSN,
// SYNCD_TEST_REDIS_ADDR), logging the pollers' warnings into the test log.
func testConfig(tb testing.TB) Config {
	return Config{
		DSN:           testdb.MySQLServerDSN(),
		Redis:         testdb.RedisAddr(),
		Conversations: 50,
		BatchSize:     100,
		Shards:        8,
		Instances:     2,
		Timeout:       2 * time.Minute,
		Logger:        slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

func setup(tb testing.TB, cfg Config) *Scratch {
	tb.Helper()
	s, err := Open(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("open scratch database: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close scratch database: %v", err)
		}
	})
	return s
}

// counts is the comparable part of a Result.
type counts struct {
	Poller                                                              string
	Instances, Backlog                                                  int
	Sent, NotSent, History, Missing, Duplicated, SeqCollisions, SeqGaps int64
}

func (r Result) counts() counts {
	return counts{r.Poller, r.Instances, r.Backlog, r.Sent, r.NotSent, r.History, r.Missing, r.Duplicated, r.SeqCollisions, r.SeqGaps}
}

// TestRelaySyncdExactlyOnce runs the syncd step on a small backlog and
// checks its verdict; timing is not asserted.
func TestRelaySyncdExactlyOnce(t *testing.T) {
	t.Run("mysql", func(t *testing.T) { t.Parallel(); relaySyncdExactlyOnce(t, testConfig(t)) })
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t)
		cfg.DSN, cfg.SyncdOnly = testdb.PostgresServerDSN(), true
		relaySyncdExactlyOnce(t, cfg)
	})
}

// TestRelayLoopExactlyOnce runs each baseline with one and three claimers
// on both dialects and checks its verdict; timing is not asserted.
func TestRelayLoopExactlyOnce(t *testing.T) {
	dsns := map[string]string{"mysql": testdb.MySQLServerDSN(), "postgres": testdb.PostgresServerDSN()}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.DSN = dsn
			s := setup(t, cfg)
			const rows = 2000
			for _, history := range []bool{false, true} {
				for _, claimers := range []int{1, 3} {
					if err := s.Reset(t.Context()); err != nil {
						t.Fatal(err)
					}
					if err := s.Seed(t.Context(), rows); err != nil {
						t.Fatal(err)
					}
					r, err := s.RelayLoop(t.Context(), history, claimers)
					if err != nil {
						t.Fatalf("RelayLoop(history %v, %d): %v", history, claimers, err)
					}
					want := counts{Poller: Loop, Instances: claimers, Backlog: rows, Sent: rows, History: rows}
					if history {
						want.Poller = LoopHistory
					}
					if got := r.counts(); got != want {
						t.Errorf("RelayLoop(history %v, %d) counts = %+v, want %+v", history, claimers, got, want)
					}
					// One claimer keeps each conversation in its rows' order;
					// with three it is only counted.
					if claimers == 1 && r.OutOfOrder != 0 {
						t.Errorf("RelayLoop(history %v, 1): %d history neighbours out of order", history, r.OutOfOrder)
					}
					// MySQL counts only explicit COMMITs; the bare loop autocommits.
					if r.Server.Commits+r.Server.Fsyncs <= 0 || r.Server.RowsRead <= 0 {
						t.Errorf("RelayLoop(history %v, %d): server counters %+v, want commits or fsyncs and rows read", history, claimers, r.Server)
					}
				}
			}
		})
	}
}

// The bare loop has no history, so its check is its acknowledgements.
func TestBareLoopChecksAcknowledgements(t *testing.T) {
	t.Parallel()
	ok := Result{Poller: Loop, NoHistory: true, Backlog: 3, Sent: 3, History: 3}
	if err := ok.exactlyOnce(); err != nil {
		t.Fatalf("clean bare loop: %v", err)
	}
	twice := Result{Poller: Loop, NoHistory: true, Backlog: 3, Sent: 3, History: 3, Duplicated: 1}
	if err := twice.exactlyOnce(); !errors.Is(err, ErrIncorrect) {
		t.Fatalf("bare loop acknowledging a row twice: %v, want ErrIncorrect", err)
	}
}

func relaySyncdExactlyOnce(t *testing.T, cfg Config) {
	s := setup(t, cfg)
	const rows = 2000
	if err := s.Seed(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	r, err := s.RelaySyncd(t.Context())
	if err != nil {
		t.Fatalf("RelaySyncd: %v", err)
	}
	want := counts{Poller: "syncd", Instances: 2, Backlog: rows, Sent: rows, History: rows}
	if got := r.counts(); got != want {
		t.Errorf("RelaySyncd counts = %+v, want %+v", got, want)
	}
	if r.Elapsed <= 0 {
		t.Errorf("Elapsed = %v, want > 0", r.Elapsed)
	}
	var claimed int64
	for _, st := range r.Steps {
		if st.Name == "claim" {
			claimed = st.Rows
		}
	}
	if claimed != rows {
		t.Errorf("rows claimed = %d, want %d (each row claimed once)", claimed, rows)
	}
}

func TestRelayNaive(t *testing.T) {
	t.Parallel()
	s := setup(t, testConfig(t))
	const rows = 200

	if err := s.Seed(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	one, err := s.RelayNaive(t.Context(), 1)
	if err != nil {
		t.Fatalf("RelayNaive(1): %v", err)
	}
	want := counts{Poller: "naive", Instances: 1, Backlog: rows, Sent: rows, History: rows}
	if got := one.counts(); got != want {
		t.Errorf("RelayNaive(1) counts = %+v, want %+v", got, want)
	}

	if err := s.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Seed(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	two, err := s.RelayNaive(t.Context(), 2)
	if err != nil {
		t.Fatalf("RelayNaive(2): %v", err)
	}
	// How many rows both pollers relay depends on timing; what must hold
	// is that every row is sent and that duplicates are counted as such.
	if two.Sent != rows || two.Missing != 0 {
		t.Errorf("RelayNaive(2): sent %d, missing %d; want %d sent, none missing", two.Sent, two.Missing, rows)
	}
	if extra := two.History - rows; extra < two.Duplicated || (two.Duplicated == 0) != (extra == 0) {
		t.Errorf("RelayNaive(2): %d history rows for %d rows but %d duplicated rows", two.History, rows, two.Duplicated)
	}
	t.Logf("two naive pollers relayed %d of %d rows more than once", two.Duplicated, rows)
}

// TestRun runs the whole benchmark in miniature, prints its report, and
// checks that the scratch database is gone afterwards.
func TestRun(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Rows, cfg.NaiveRows = 300, 100
	var progress bytes.Buffer
	cfg.Progress = &progress
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Syncd.Sent != 300 || rep.Naive.Sent != 300 || rep.Concurrent == nil || rep.Concurrent.Sent != 100 {
		t.Errorf("Run sent %d (syncd), %d (naive), %+v (concurrent naive); want 300, 300, 100",
			rep.Syncd.Sent, rep.Naive.Sent, rep.Concurrent)
	}
	if rep.Ratio() <= 0 {
		t.Errorf("Ratio() = %v, want > 0", rep.Ratio())
	}
	if len(rep.Baselines) != 4 || rep.BaselineRatio(false) <= 0 || rep.BaselineRatio(true) <= 0 {
		t.Errorf("Run: %d baselines, ratios %v and %v; want 4 and both > 0", len(rep.Baselines), rep.BaselineRatio(false), rep.BaselineRatio(true))
	}
	var out bytes.Buffer
	rep.WriteText(&out)
	for _, want := range []string{"syncd        x2: 300 rows", "loop         x1: 300 rows", "loop         x3: 300 rows",
		"loop+history x1: 300 rows", "loop+history x3: 300 rows", "ratio syncd/best baseline:", "ratio syncd/best with history:",
		"per relayed row:", "naive        x1: 300 rows", "ratio syncd/naive", "naive        x2: 100 rows"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(progress.String(), "seeding 300 rows") {
		t.Errorf("progress lacks the seeding step:\n%s", progress.String())
	}

	db, err := sql.Open("mysql", testdb.MySQLServerDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?`,
		rep.Database).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after Run", rep.Database)
	}
}

// On PostgreSQL the whole benchmark runs syncd and the baselines and skips
// the naive pollers, whose SQL is MySQL's.
func TestRunPostgres(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.DSN, cfg.Rows = testdb.PostgresServerDSN(), 300
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Syncd.Sent != 300 || len(rep.Baselines) != 4 || rep.Naive.Elapsed != 0 || rep.Concurrent != nil {
		t.Errorf("Run sent %d (syncd), %d baselines, naive %+v, concurrent %+v; want 300, 4 and no naive runs",
			rep.Syncd.Sent, len(rep.Baselines), rep.Naive, rep.Concurrent)
	}
	var out bytes.Buffer
	rep.WriteText(&out)
	for _, want := range []string{"loop+history x3: 300 rows", "ratio syncd/best baseline:", "per relayed row:", "WAL syncs"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestExactlyOnceReportsEveryFault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    Result
		want string // in the error; "" for none
	}{
		{"clean", Result{Backlog: 3, Sent: 3, History: 3}, ""},
		{"not sent", Result{Backlog: 3, Sent: 2, NotSent: 1, History: 2}, "1 rows not sent"},
		{"duplicate", Result{Backlog: 3, Sent: 3, History: 4, Duplicated: 1}, "1 rows relayed more than once"},
		{"missing", Result{Backlog: 3, Sent: 3, History: 2, Missing: 1}, "2 history rows for 3 rows"},
		{"seq", Result{Backlog: 3, Sent: 3, History: 3, SeqGaps: 1}, "1 conversations with sequence gaps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.exactlyOnce()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("exactlyOnce() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrIncorrect) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("exactlyOnce() = %v, want ErrIncorrect mentioning %q", err, tt.want)
			}
		})
	}
}

func TestConfigDefaultsAndChecks(t *testing.T) {
	t.Parallel()
	got, err := Config{}.withDefaults()
	if err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	daemon := config.Default().Poller // the benchmark measures what syncd runs with
	if got.Rows != 100000 || got.Conversations != 1000 || got.BatchSize != daemon.BatchSize || got.Shards != daemon.Shards ||
		got.Workers != daemon.Workers || got.Instances != 3 || got.BodyBytes != 200 || got.NaiveInstances != 2 ||
		got.NaiveRows != 5000 || got.DSN != DefaultDSN || got.Redis != DefaultRedis || got.Schedule != daemon.Schedule {
		t.Errorf("defaults = %+v", got)
	}
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{Shards: 3}, "shards"},
		{Config{Shards: 2048}, "shards"},
		{Config{Rows: -1}, "rows"},
		{Config{BodyBytes: 1 << 20}, "body-bytes"},
		{Config{DSN: "not a dsn"}, "dsn"},
	}
	for _, b := range bad {
		if _, err := b.cfg.withDefaults(); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("withDefaults(%+v) = %v, want an error naming %s", b.cfg, err, b.want)
		}
	}
}

func TestBodyLength(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 5, 200, 1000} {
		if got := body(12345, n); len(got) != n {
			t.Errorf("len(body(12345, %d)) = %d", n, len(got))
		}
	}
}

// BenchmarkRelaySyncd relays a 20,000-row backlog with three syncd
// instances; `syncd bench relay` is the full-size run.
func BenchmarkRelaySyncd(b *testing.B) {
	cfg := testConfig(b)
	cfg.Conversations, cfg.BatchSize, cfg.Shards, cfg.Instances = 1000, 500, 16, 3
	benchmarkRelay(b, cfg, 20000, func(ctx context.Context, s *Scratch) (Result, error) { return s.RelaySyncd(ctx) })
}

// BenchmarkRelayLoopHistory relays a 20,000-row backlog with one claim
// loop with history.
func BenchmarkRelayLoopHistory(b *testing.B) {
	cfg := testConfig(b)
	cfg.Conversations, cfg.BatchSize = 1000, 500
	benchmarkRelay(b, cfg, 20000, func(ctx context.Context, s *Scratch) (Result, error) { return s.RelayLoop(ctx, true, 1) })
}

// BenchmarkRelayNaive relays a 2,000-row backlog with one naive poller.
func BenchmarkRelayNaive(b *testing.B) {
	cfg := testConfig(b)
	cfg.Conversations = 1000
	benchmarkRelay(b, cfg, 2000, func(ctx context.Context, s *Scratch) (Result, error) { return s.RelayNaive(ctx, 1) })
}

func benchmarkRelay(b *testing.B, cfg Config, rows int, relay func(context.Context, *Scratch) (Result, error)) {
	s := setup(b, cfg)
	var relayed int
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		if err := s.Reset(b.Context()); err != nil {
			b.Fatal(err)
		}
		if err := s.Seed(b.Context(), rows); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r, err := relay(b.Context(), s)
		if err != nil {
			b.Fatal(err)
		}
		relayed += r.Backlog
		elapsed += r.Elapsed
	}
	b.ReportMetric(float64(relayed)/elapsed.Seconds(), "rows/s")
}

// The server's CPU time is read from /proc when it runs on this machine;
// elsewhere it is unknown (-1), never a made-up zero.
func TestServerCPU(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{testdb.MySQLServerDSN(), testdb.PostgresServerDSN()} {
		got := serverCPU(dsn)
		if got == 0 || (got < 0 && got != -1) {
			t.Errorf("serverCPU(%q) = %v, want the server's CPU time or -1", dsn, got)
		}
		t.Logf("serverCPU(%q) = %v (local %v)", dsn, got, localServer(dsn))
	}
	if got := serverCPU("root@tcp(db.example.com:3306)/test"); got != -1 {
		t.Errorf("serverCPU of a remote server = %v, want -1", got)
	}
}
