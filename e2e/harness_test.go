package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/internal/syncdbin"
	"github.com/syncd-dev/syncd/internal/testdb"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ---- the binary ----

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// syncdBinary builds ./cmd/syncd once per test run.
func syncdBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "syncd-e2e-bin-")
		if build.err == nil {
			build.bin, build.err = syncdbin.Build(build.dir)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// ---- a deployment: one database, its settings, its instances ----

type deployment struct {
	t      *testing.T
	bin    string
	driver string   // mysql or postgres
	db     *sql.DB  // the deployment's database, for the test's own SQL (? placeholders on both)
	env    []string // SYNCD_* settings shared by every instance
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newDeployment creates a fresh database with the schema applied and the
// agent alice, and the settings its instances share. origin is an extra
// allowed console origin ("" for none).
func newDeployment(t *testing.T, redisDB int, origin string) *deployment {
	t.Helper()
	return newDeploymentOn(t, "mysql", redisDB, origin)
}

// newDeploymentOn is newDeployment on a database of driver (mysql or
// postgres).
func newDeploymentOn(t *testing.T, driver string, redisDB int, origin string) *deployment {
	t.Helper()
	d := &deployment{t: t, bin: syncdBinary(t), driver: driver}
	var dsn string
	var err error
	switch driver {
	case "postgres":
		dsn = testdb.NewPostgresDatabase(t)
		d.db, err = sql.Open("pgx-qmark", dsn) // testdb's: ? placeholders
	default:
		dsn = testdb.NewMySQLDatabase(t) // dropped when the test ends
		d.db, err = sql.Open("mysql", dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.db.Close() })

	d.env = []string{
		"SYNCD_DATABASE_DRIVER=" + driver,
		"SYNCD_DATABASE_DSN=" + dsn,
		"SYNCD_REDIS_ADDR=" + testdb.RedisAddr(),
		fmt.Sprintf("SYNCD_REDIS_DB=%d", redisDB),
		// Pub/sub ignores the db number: a prefix of its own keeps other
		// deployments' console events (other test packages run at the
		// same time) off this one's screens.
		"SYNCD_REDIS_PREFIX=syncd-e2e-" + randHex(6) + ":",
		"SYNCD_REDIS_LOCK_TTL=2s",
		"SYNCD_CONSOLE_SESSION_SECRET=" + randHex(32),
		"SYNCD_CONSOLE_SWEEP_INTERVAL=1s",
		"SYNCD_BOT_ENABLED=false",
		"SYNCD_LOG_LEVEL=debug",
	}
	if origin != "" {
		d.env = append(d.env, "SYNCD_CONSOLE_ALLOWED_ORIGINS="+origin)
	}

	d.cli(nil, "schema", "apply")
	addAgent := []string{"agent", "add", "--password-stdin", "alice"}
	if strings.Contains(d.cli(nil, "agent", "add", "--help"), "--username") {
		addAgent = []string{"agent", "add", "--username", "alice", "--password-stdin"}
	}
	d.cli(strings.NewReader(agentPassword+"\n"), addAgent...)
	return d
}

const agentPassword = "correct horse battery staple"

// cli runs a syncd command to completion and fails the test if it fails.
func (d *deployment) cli(stdin io.Reader, args ...string) string {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Env = d.environ(nil)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		d.t.Fatalf("syncd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// environ is the process environment without any SYNCD_* variable of the
// caller's, plus the deployment's settings and extra.
func (d *deployment) environ(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNCD_") {
			env = append(env, kv)
		}
	}
	env = append(env, d.env...)
	return append(env, extra...)
}

// insert adds a row to message_sync as a legacy application would.
func (d *deployment) insert(key, body string) int64 {
	d.t.Helper()
	const q = "INSERT INTO message_sync (conversation_key, body) VALUES (?, ?)"
	if d.driver == "postgres" { // no LastInsertId
		var id int64
		if err := d.db.QueryRow(q+" RETURNING id", key, body).Scan(&id); err != nil {
			d.t.Fatalf("insert message_sync: %v", err)
		}
		return id
	}
	res, err := d.db.Exec(q, key, body)
	if err != nil {
		d.t.Fatalf("insert message_sync: %v", err)
	}
	id, _ := res.LastInsertId()
	return id
}

// insertEvent adds a business event row (kind other than "message").
func (d *deployment) insertEvent(key, kind, body, payload string) {
	d.t.Helper()
	_, err := d.db.Exec("INSERT INTO message_sync (conversation_key, body, kind, payload) VALUES (?, ?, ?, ?)", key, body, kind, payload)
	if err != nil {
		d.t.Fatalf("insert message_sync event: %v", err)
	}
}

// eventually polls cond every 100 ms until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- instances ----

type instance struct {
	name string
	addr string // host:port
	cmd  *exec.Cmd
	done chan struct{}
	logs *lockedBuffer
}

func (i *instance) URL() string { return "http://" + i.addr }

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs `syncd run` and waits until /readyz answers 200; extra adds
// environment variables. The process is stopped (SIGTERM, then SIGKILL)
// when the test ends, and its log is printed if the test failed.
func (d *deployment) start(name string, extra ...string) *instance {
	d.t.Helper()
	in := &instance{name: name, addr: freeAddr(d.t), done: make(chan struct{}), logs: &lockedBuffer{}}
	in.cmd = exec.Command(d.bin, "run")
	if lowNofile(extra) {
		in.cmd = exec.Command(os.Args[0], d.bin, "run") // see execWithNofile
	}
	in.cmd.Env = d.environ(append([]string{"SYNCD_HTTP_ADDR=" + in.addr, "SYNCD_INSTANCE=" + name}, extra...))
	in.cmd.Stdout = in.logs
	in.cmd.Stderr = in.logs
	if err := in.cmd.Start(); err != nil {
		d.t.Fatalf("start syncd run: %v", err)
	}
	go func() {
		in.cmd.Wait()
		close(in.done)
	}()
	d.t.Cleanup(func() {
		in.stop()
		if d.t.Failed() {
			d.t.Logf("---- log of instance %s ----\n%s", name, tail(in.logs.String(), 12000))
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-in.done:
			d.t.Fatalf("syncd run (%s) exited before it was ready: %v\n%s", name, in.cmd.ProcessState, in.logs.String())
		default:
		}
		resp, err := client.Get(in.URL() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return in
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("syncd run (%s) not ready after 30s (last: %v)\n%s", name, err, in.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (i *instance) kill() {
	i.cmd.Process.Signal(syscall.SIGKILL)
	<-i.done
}

func (i *instance) stop() {
	select {
	case <-i.done:
		return
	default:
	}
	i.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-i.done:
	case <-time.After(15 * time.Second):
		i.kill()
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
