package relay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // the legacy writer's SQLite driver
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/syncd-dev/syncd/internal/syncdbin"
	"github.com/syncd-dev/syncd/internal/testdb"
)

// syncdBin is the binary under test, built by TestMain.
var syncdBin string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "syncd-relay-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "make temp dir:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		syncdBin, err = syncdbin.Build(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left behind:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// cleanEnv is the test's environment without any SYNCD_* variable, so
// that an engineer's shell settings cannot leak into the instances.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNCD_") {
			env = append(env, kv)
		}
	}
	return env
}

// ---- the bundle: one test's database, Redis database and instances ----

type bundle struct {
	t       *testing.T
	driver  string  // mysql, postgres or sqlite
	dir     string  // working directory and log folder of the instances
	dsn     string  // syncd's database.dsn, straight to the server
	db      *sql.DB // the test's own SQL, with ? placeholders on both
	redisDB int

	mu        sync.Mutex
	instances []*instance

	// anyOrder makes verifyExactlyOnce accept a conversation's rows in
	// history out of id order (the Sentinel failover: see its test).
	anyOrder bool

	// mustFailWith adds rows that must fail to the writer's invalid ones:
	// sender_name tag → what last_error must contain (hostile rows).
	mustFailWith map[string]string
}

// setup creates a fresh MariaDB database with the schema applied by
// `syncd schema apply`, and claims a Redis database.
func setup(t *testing.T) *bundle {
	t.Helper()
	return setupOn(t, "mysql")
}

// relayDialects are the databases the core relay suite runs on with
// several instances.
var relayDialects = []string{"mysql", "postgres"}

// oneProcessDialects are the databases the single-instance tests run on:
// relayDialects and SQLite, whose file one syncd process holds (with
// in-process locks) while the legacy application writes to it.
var oneProcessDialects = append(slices.Clone(relayDialects), "sqlite")

// setupOn is setup on a fresh database of driver: mysql (MariaDB),
// postgres or sqlite.
func setupOn(t *testing.T, driver string) *bundle {
	t.Helper()
	b := &bundle{t: t, driver: driver, dir: t.TempDir()}
	sqlDriver, testDSN := "mysql", ""
	switch driver {
	case "postgres":
		b.dsn, sqlDriver = testdb.NewPostgresDatabase(t), "pgx-qmark" // testdb's: ? placeholders
	case "sqlite":
		// The legacy writer's connection waits for syncd's write
		// transactions as a legacy application's would (busy_timeout).
		b.dsn, sqlDriver = filepath.Join(b.dir, "legacy.db"), "sqlite"
		testDSN = b.dsn + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_txlock=immediate"
	default:
		b.dsn = testdb.NewMySQLDatabase(t)
	}
	if testDSN == "" {
		testDSN = b.dsn
	}
	db, err := sql.Open(sqlDriver, testDSN)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	db.SetMaxOpenConns(8)
	if driver == "sqlite" {
		db.SetMaxOpenConns(1) // one writer
	}
	t.Cleanup(func() { db.Close() })
	b.db = db
	b.redisDB = claimRedisDB(t)

	res := b.runCLI(30*time.Second, b.env(), "schema", "apply")
	if res.code != 0 || !strings.Contains(res.stdout, "applied 0001_relay") {
		t.Fatalf("syncd schema apply: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	return b
}

// env is the base configuration of an instance: MySQL, Redis locks in the
// test's Redis database, fast schedules and short leases.
func (b *bundle) env(extra ...string) []string {
	redisAddr := testdb.RedisAddr()
	if b.driver == "sqlite" {
		redisAddr = "" // one process holds the file: in-process locks
	}
	env := append(cleanEnv(),
		"SYNCD_DATABASE_DRIVER="+b.driver,
		"SYNCD_DATABASE_DSN="+b.dsn,
		"SYNCD_DATABASE_MAX_OPEN_CONNS=8",
		"SYNCD_REDIS_ADDR="+redisAddr,
		"SYNCD_REDIS_DB="+strconv.Itoa(b.redisDB),
		// Pub/sub ignores the db number; the test database's name keeps
		// this bundle's console events to itself.
		"SYNCD_REDIS_PREFIX="+redisPrefix+b.databaseName()+":",
		"SYNCD_REDIS_LOCK_TTL=2s",
		"SYNCD_HTTP_ADDR=127.0.0.1:0",
		"SYNCD_POLLER_SCHEDULE=@every 100ms",
		"SYNCD_POLLER_LEASE=5s",
		"SYNCD_POLLER_BACKOFF_BASE=100ms",
		"SYNCD_POLLER_BACKOFF_MAX=1s",
		"SYNCD_RELAY_MAX_BODY_BYTES="+strconv.Itoa(maxBodyBytes),
		"SYNCD_BOT_ENABLED=false",
		"SYNCD_LOG_LEVEL=info",
	)
	return append(env, extra...) // later entries win in os/exec
}

// dsnVia is the test database's DSN with the server address replaced, for
// routing syncd through a proxy.
func (b *bundle) dsnVia(addr string) string {
	cfg, err := mysql.ParseDSN(b.dsn)
	if err != nil {
		b.t.Fatalf("parse DSN: %v", err)
	}
	cfg.Addr = addr
	return cfg.FormatDSN()
}

// databaseName is the test database's name.
func (b *bundle) databaseName() string {
	if b.driver == "sqlite" {
		return filepath.Base(b.dir)
	}
	if b.driver == "postgres" {
		u, err := url.Parse(b.dsn)
		if err != nil {
			b.t.Fatalf("parse DSN: %v", err)
		}
		return strings.TrimPrefix(u.Path, "/")
	}
	cfg, err := mysql.ParseDSN(b.dsn)
	if err != nil {
		b.t.Fatalf("parse DSN: %v", err)
	}
	return cfg.DBName
}

// mysqlAddr is the MariaDB server's host:port.
func (b *bundle) mysqlAddr() string {
	cfg, err := mysql.ParseDSN(b.dsn)
	if err != nil {
		b.t.Fatalf("parse DSN: %v", err)
	}
	return cfg.Addr
}

// ---- Redis ----

const (
	redisMarker = "syncd-e2e-relay:owner"
	redisPrefix = "syncd-relay-" // of the instances' keys; the marker is not one
)

// claimRedisDB finds an empty Redis database in 1..13, marks it as this
// test's with a key set NX, and at cleanup deletes the syncd keys and the
// marker. It never flushes: a database holding anything else is skipped.
func claimRedisDB(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	token := randomHex(8) + "-" + t.Name()
	for _, n := range mrand.Perm(13) {
		db := n + 1
		rc := redis.NewClient(&redis.Options{Addr: testdb.RedisAddr(), DB: db})
		ok, err := rc.SetNX(ctx, redisMarker, token, 15*time.Minute).Result()
		if err != nil {
			rc.Close()
			t.Fatalf("claim a Redis database (is Redis running on %s?): %v", testdb.RedisAddr(), err)
		}
		if !ok {
			rc.Close()
			continue
		}
		release := func() {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if v, _ := rc.Get(c, redisMarker).Result(); v == token {
				rc.Del(c, redisMarker)
			}
		}
		if size, err := rc.DBSize(ctx).Result(); err != nil || size != 1 {
			release() // someone else's data lives here
			rc.Close()
			continue
		}
		t.Cleanup(func() {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			iter := rc.Scan(c, 0, redisPrefix+"*", 100).Iterator()
			for iter.Next(c) {
				rc.Del(c, iter.Val())
			}
			release()
			rc.Close()
		})
		return db
	}
	t.Fatal("no empty Redis database in 1..13 to claim")
	return 0
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- processes ----

// instance is one syncd subprocess with its log file.
type instance struct {
	t       *testing.T
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has exited
	state   *os.ProcessState

	mu       sync.Mutex
	expected bool // the test expects it to be running
	addr     string
}

// start launches `syncd run` with env; logName names its log file.
func (b *bundle) start(logName string, env []string, args ...string) *instance {
	b.t.Helper()
	in := startProcess(b.t, b.dir, logName, env, append([]string{"run"}, args...)...)
	b.mu.Lock()
	b.instances = append(b.instances, in)
	b.mu.Unlock()
	return in
}

// startProcess runs syncdBin with args in dir, stdout and stderr into
// dir/logName.log. At cleanup a process still running gets SIGTERM (and
// SIGKILL if it lingers), and on failure the tail of its log is printed.
func startProcess(t *testing.T, dir, logName string, env []string, args ...string) *instance {
	t.Helper()
	logPath := filepath.Join(dir, logName+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create log file: %v", err)
	}
	cmd := exec.Command(syncdBin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = f
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start syncd %s: %v", strings.Join(args, " "), err)
	}
	in := &instance{t: t, name: logName, logPath: logPath, cmd: cmd, done: make(chan struct{}), expected: true}
	go func() {
		_ = cmd.Wait()
		f.Close()
		in.state = cmd.ProcessState
		close(in.done)
	}()
	t.Cleanup(func() {
		if !in.exited() {
			in.stop(20 * time.Second)
		}
		if t.Failed() {
			t.Logf("---- last lines of %s (%s) ----\n%s", in.name, in.logPath, tail(in.logPath, 40))
		} else if testing.Verbose() {
			if s := in.problems(); s != "" {
				t.Logf("%s logged: %s", in.name, s)
			}
		}
	})
	return in
}

func (in *instance) exited() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// exitCode is the process's exit code, -1 when a signal ended it.
func (in *instance) exitCode() int {
	<-in.done
	return in.state.ExitCode()
}

// kill sends SIGKILL and waits for the process to be gone.
func (in *instance) kill() {
	in.setExpected(false)
	_ = in.cmd.Process.Signal(syscall.SIGKILL)
	<-in.done
}

// stop sends SIGTERM and waits up to timeout; then SIGKILL. It returns how
// long the process took to exit and whether it did so within timeout.
func (in *instance) stop(timeout time.Duration) (time.Duration, bool) {
	in.setExpected(false)
	start := time.Now()
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
		return time.Since(start), true
	case <-time.After(timeout):
		_ = in.cmd.Process.Signal(syscall.SIGKILL)
		<-in.done
		return time.Since(start), false
	}
}

func (in *instance) setExpected(v bool) {
	in.mu.Lock()
	in.expected = v
	in.mu.Unlock()
}

// httpAddr waits for the "http listening" log line and returns its address.
func (in *instance) httpAddr(timeout time.Duration) string {
	in.t.Helper()
	in.mu.Lock()
	addr := in.addr
	in.mu.Unlock()
	if addr != "" {
		return addr
	}
	re := regexp.MustCompile(`msg="http listening".* addr=(\S+)`)
	waitFor(in.t, timeout, in.name+" to listen", func() (bool, string) {
		if in.exited() {
			in.t.Fatalf("%s exited (%v) before listening:\n%s", in.name, in.state, tail(in.logPath, 30))
		}
		raw, _ := os.ReadFile(in.logPath)
		if m := re.FindSubmatch(raw); m != nil {
			addr = string(m[1])
			return true, ""
		}
		return false, "no \"http listening\" line yet"
	})
	in.mu.Lock()
	in.addr = addr
	in.mu.Unlock()
	return addr
}

// readiness is the answer of /readyz.
type readiness struct {
	Code   int
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

var httpClient = &http.Client{Timeout: 3 * time.Second}

func (in *instance) readyz() (readiness, error) {
	resp, err := httpClient.Get("http://" + in.httpAddr(20*time.Second) + "/readyz")
	if err != nil {
		return readiness{}, err
	}
	defer resp.Body.Close()
	var r readiness
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return readiness{}, fmt.Errorf("decode /readyz: %w", err)
	}
	r.Code = resp.StatusCode
	return r, nil
}

// waitReady waits until /readyz answers 200 with every check ok.
func (in *instance) waitReady(timeout time.Duration) {
	in.t.Helper()
	waitFor(in.t, timeout, in.name+" to be ready", func() (bool, string) {
		if in.exited() {
			in.t.Fatalf("%s exited (%v):\n%s", in.name, in.state, tail(in.logPath, 30))
		}
		r, err := in.readyz()
		if err != nil {
			return false, err.Error()
		}
		// Ready means started: the console and the poller run, not only
		// the database answering.
		return r.Code == http.StatusOK && r.Ready && r.Checks["startup"] == "ok", fmt.Sprintf("%d %v", r.Code, r.Checks)
	})
}

// metric reads one series of /metrics; series is the name with its labels
// as Prometheus prints them, e.g. syncd_dependency_up{dependency="redis"}.
func (in *instance) metric(series string) (float64, error) {
	resp, err := httpClient.Get("http://" + in.httpAddr(20*time.Second) + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("series %s not in /metrics", series)
}

// relayMetrics summarises the relay's counters, for the test log.
func (in *instance) relayMetrics() string {
	var parts []string
	for _, name := range []string{"syncd_rows_sent_total", "syncd_rows_failed_total", "syncd_rows_retried_total",
		"syncd_rows_taken_back_total", "syncd_claims_lost_total", "syncd_lock_losses_total"} {
		v, err := in.metric(name)
		if err != nil {
			parts = append(parts, name+"=?")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%g", strings.TrimSuffix(strings.TrimPrefix(name, "syncd_"), "_total"), v))
	}
	return strings.Join(parts, " ")
}

// log is the process's output so far.
func (in *instance) log() string {
	raw, _ := os.ReadFile(in.logPath)
	return string(raw)
}

// problems counts the log's warnings and errors by message, for a
// one-line summary.
func (in *instance) problems() string {
	re := regexp.MustCompile(`level=(WARN|ERROR) msg=("[^"]*"|\S+)`)
	n := map[string]int{}
	var order []string
	for _, m := range re.FindAllStringSubmatch(in.log(), -1) {
		k := m[1] + " " + strings.Trim(m[2], `"`)
		if n[k] == 0 {
			order = append(order, k)
		}
		n[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, n[k]))
	}
	return strings.Join(parts, "; ")
}

// tail is the last n lines of a log, leaving out the "row failed"
// warnings that the tests' invalid rows cause on purpose.
func tail(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var lines []string
	skipped := 0
	for _, l := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
		if strings.Contains(l, `msg="row failed"`) {
			skipped++
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("(%d \"row failed\" lines left out)\n%s", skipped, strings.Join(lines, "\n"))
}

// cliResult is what a short syncd command did.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs a syncd command that is expected to end by itself within
// timeout; the test fails if it does not.
func (b *bundle) runCLI(timeout time.Duration, env []string, args ...string) cliResult {
	b.t.Helper()
	return runCLI(b.t, b.dir, timeout, env, args...)
}

func runCLI(t *testing.T, dir string, timeout time.Duration, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, syncdBin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("syncd %s did not end within %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), timeout, &stdout, &stderr)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run syncd %s: %v", strings.Join(args, " "), err)
	}
	return cliResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// ---- waiting ----

// waitFor polls cond until it holds, failing the test after timeout with
// the last state cond described.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor is the package waitFor that also fails at once, with the log,
// when an instance the test expects to run has exited.
func (b *bundle) waitFor(timeout time.Duration, what string, cond func() (bool, string)) {
	b.t.Helper()
	waitFor(b.t, timeout, what, func() (bool, string) {
		b.checkAlive()
		return cond()
	})
}

func (b *bundle) checkAlive() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, in := range b.instances {
		in.mu.Lock()
		expected := in.expected
		in.mu.Unlock()
		if expected && in.exited() {
			b.t.Fatalf("%s exited unexpectedly (%v):\n%s", in.name, in.state, tail(in.logPath, 40))
		}
	}
}

// ---- the database ----

// counts is message_sync rows by status.
type counts struct{ pending, processing, sent, failed int }

func (c counts) total() int { return c.pending + c.processing + c.sent + c.failed }

func (c counts) String() string {
	return fmt.Sprintf("pending=%d processing=%d sent=%d failed=%d", c.pending, c.processing, c.sent, c.failed)
}

func (b *bundle) counts() counts {
	b.t.Helper()
	rows, err := b.db.Query(`SELECT status, COUNT(*) FROM message_sync GROUP BY status`)
	if err != nil {
		b.t.Fatalf("count rows by status: %v", err)
	}
	defer rows.Close()
	var c counts
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			b.t.Fatalf("count rows by status: %v", err)
		}
		switch s {
		case "pending":
			c.pending = n
		case "processing":
			c.processing = n
		case "sent":
			c.sent = n
		case "failed":
			c.failed = n
		}
	}
	if err := rows.Err(); err != nil {
		b.t.Fatalf("count rows by status: %v", err)
	}
	return c
}

func (b *bundle) count(query string, args ...any) int {
	b.t.Helper()
	var n int
	if err := b.db.QueryRow(query, args...).Scan(&n); err != nil {
		b.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitSettled waits until want rows exist and none is pending or
// processing.
func (b *bundle) waitSettled(timeout time.Duration, want int) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	b.waitFor(timeout+time.Minute, fmt.Sprintf("all %d rows to be sent or failed", want), func() (bool, string) {
		c := b.counts()
		if time.Now().After(deadline) {
			b.dumpStuck(c)
			b.t.Fatalf("timed out after %s waiting for all %d rows to be sent or failed; last state: %s", timeout, want, c)
		}
		return c.total() == want && c.pending == 0 && c.processing == 0, c.String()
	})
}

// dumpStuck tells what a relay that stopped making progress holds: the
// rows still processing by claimer, the server's sessions and lock waits
// (MariaDB), and the poller goroutines of every
// instance that runs (SIGQUIT makes Go print every goroutine's stack to
// the instance's log, and ends it).
func (b *bundle) dumpStuck(c counts) {
	b.t.Helper()
	if r, err := b.db.Query(`SELECT COALESCE(claimed_by, ''), shard_bucket, COUNT(*), MIN(id), MAX(attempts)
FROM message_sync WHERE status IN ('pending', 'processing') GROUP BY claimed_by, shard_bucket ORDER BY 2 LIMIT 40`); err == nil {
		for r.Next() {
			var by string
			var bucket, n, minID, att int
			_ = r.Scan(&by, &bucket, &n, &minID, &att)
			b.t.Logf("stuck: bucket %d claimed by %q: %d rows from id %d, attempts up to %d", bucket, by, n, minID, att)
		}
		r.Close()
	}
	// What the server is doing for syncd's sessions, and who waits on whom.
	if r, err := b.db.Query(`SELECT id, COALESCE(command, ''), COALESCE(time, 0), COALESCE(state, ''), COALESCE(LEFT(info, 120), '')
FROM information_schema.PROCESSLIST WHERE db = DATABASE() AND id <> CONNECTION_ID() AND command <> 'Sleep'`); err == nil {
		for r.Next() {
			var id, secs int64
			var cmd, state, info string
			_ = r.Scan(&id, &cmd, &secs, &state, &info)
			b.t.Logf("server session %d: %s for %ds, %s: %s", id, cmd, secs, state, info)
		}
		r.Close()
	}
	if r, err := b.db.Query(`SELECT requesting_trx_id, blocking_trx_id FROM information_schema.INNODB_LOCK_WAITS`); err == nil {
		for r.Next() {
			var req, blk string
			_ = r.Scan(&req, &blk)
			b.t.Logf("lock wait: transaction %s waits for %s", req, blk)
		}
		r.Close()
	}
	b.mu.Lock()
	ins := slices.Clone(b.instances)
	b.mu.Unlock()
	for _, in := range ins {
		if in.exited() {
			continue
		}
		in.setExpected(false)
		_ = in.cmd.Process.Signal(syscall.SIGQUIT)
	}
	time.Sleep(2 * time.Second)
	for _, in := range ins {
		raw, _ := os.ReadFile(in.logPath)
		for _, g := range strings.Split(string(raw), "\n\n") {
			if strings.Contains(g, "poller.(*Poller)") || strings.Contains(g, "store.(*Store)") || strings.Contains(g, "lock.(*redisLease)") {
				b.t.Logf("%s goroutine:\n%s", in.name, g)
			}
		}
	}
}

// stopAll sends SIGTERM to every running instance and requires exit 0.
func (b *bundle) stopAll(timeout time.Duration) {
	b.t.Helper()
	b.mu.Lock()
	ins := append([]*instance(nil), b.instances...)
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range ins {
		if in.exited() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			took, ok := in.stop(timeout)
			if !ok {
				b.t.Errorf("%s did not exit within %s of SIGTERM", in.name, timeout)
			} else if code := in.exitCode(); code != 0 {
				b.t.Errorf("%s exited with %d after SIGTERM (took %s), want 0", in.name, code, took.Round(time.Millisecond))
			}
		}()
	}
	wg.Wait()
}
