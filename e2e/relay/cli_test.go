package relay

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/testdb"
)

// TestEmbeddedDefault runs `syncd run` with no configuration at all in an
// empty directory, and relays a row inserted by `syncd inject` through the
// embedded default: a SQLite file syncd.db and in-process locks.
func TestEmbeddedDefault(t *testing.T) {
	dir := t.TempDir()
	env := cleanEnv() // no SYNCD_* variable at all

	// The default http.addr is 127.0.0.1:8080, and `syncd run` exits when
	// its port is taken. If something on this machine holds 8080, this
	// test sets SYNCD_HTTP_ADDR and nothing else; the log then says
	// "configuration loaded" instead of "embedded default", and only the
	// database and lock lines are checked.
	pure := portFree("127.0.0.1:8080")
	if !pure {
		t.Logf("127.0.0.1:8080 is taken on this machine: setting only SYNCD_HTTP_ADDR")
		env = append(env, "SYNCD_HTTP_ADDR=127.0.0.1:0")
	}
	// ONNX Runtime is not part of the configuration: passing its path on
	// keeps the run on the embedded default, with the bot on.
	if lib := os.Getenv("SYNCD_ONNXRUNTIME_LIB"); lib != "" {
		env = append(env, "SYNCD_ONNXRUNTIME_LIB="+lib)
	}
	run := startProcess(t, dir, "run", env, "run")
	waitFor(t, 20*time.Second, "syncd run to start its poller", func() (bool, string) {
		if run.exited() && pure && strings.Contains(run.log(), "listen on http.addr") {
			// 8080 was taken between the check and the start.
			t.Logf("127.0.0.1:8080 was taken meanwhile: setting only SYNCD_HTTP_ADDR")
			pure = false
			env = append(env, "SYNCD_HTTP_ADDR=127.0.0.1:0")
			run = startProcess(t, dir, "run-2", env, "run")
		}
		if run.exited() {
			t.Fatalf("syncd run exited (%v):\n%s", run.state, tail(run.logPath, 30))
		}
		return strings.Contains(run.log(), `msg="poller started"`), "no \"poller started\" line yet"
	})

	res := runCLI(t, dir, 30*time.Second, env, "inject", "--conversation", "smoke", "--wait", "10s", "hello")
	if res.code != 0 || !strings.Contains(res.stdout, "sent") {
		t.Errorf("syncd inject --wait: exit %d, want 0 and \"sent\"\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "syncd.db")); err != nil {
		t.Errorf("no syncd.db in the working directory: %v", err)
	}

	// syncd status --json: the row is sent, and with in-process locks there
	// are no shard holders: empty lists, not nulls.
	st := runCLI(t, dir, 30*time.Second, env, "status", "--json")
	var status struct {
		Rows   map[string]int64  `json:"rows"`
		Shards []json.RawMessage `json:"shards"`
		Claims []json.RawMessage `json:"claims"`
		Locks  string            `json:"locks"`
	}
	if st.code != 0 || json.Unmarshal([]byte(st.stdout), &status) != nil {
		t.Errorf("syncd status --json: exit %d\nstdout: %s\nstderr: %s", st.code, st.stdout, st.stderr)
	} else if status.Rows["pending"] != 0 || status.Shards == nil || len(status.Shards) != 0 || status.Claims == nil || status.Locks != "in-process" {
		t.Errorf("syncd status --json = %s", st.stdout)
	}

	// /metrics carries the console's and the bot's counters: "hello" was
	// labelled once and answered by the bot itself.
	if !strings.Contains(run.log(), `msg="intent bot on"`) {
		t.Errorf("the embedded default runs without the bot (fetch ONNX Runtime with scripts/onnxruntime.sh, or set SYNCD_ONNXRUNTIME_LIB):\n%s", tail(run.logPath, 30))
	}
	for series, want := range map[string]float64{
		"syncd_console_connections":                                 0,
		"syncd_console_slow_closed_total":                           0,
		`syncd_console_events_dropped_total{stage="publish"}`:       0,
		`syncd_console_events_dropped_total{stage="render"}`:        0,
		`syncd_console_sla_breaches_total{target="first_response"}`: 0,
		`syncd_console_sla_breaches_total{target="reply"}`:          0,
		"syncd_console_sla_returned_total":                          0,
		"syncd_console_auto_assigned_total":                         0,
		"syncd_bot_classified_total":                                1,
		"syncd_bot_cache_hits_total":                                0,
		`syncd_bot_replies_total{kind="message"}`:                   1,
		`syncd_bot_replies_total{kind="event"}`:                     0,
		"syncd_bot_suggestions_total":                               0,
		"syncd_bot_reload_failures_total":                           0,
	} {
		if got, err := run.metric(series); err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", series, got, err, want)
		}
	}

	took, ok := run.stop(20 * time.Second)
	if !ok || run.exitCode() != 0 {
		t.Errorf("syncd run after SIGTERM: exited=%v code=%d after %s, want exit 0", ok, run.exitCode(), took)
	}

	lines := strings.SplitN(run.log(), "\n", 4)
	head := strings.Join(lines[:min(3, len(lines))], "\n")
	wants := []string{"database_driver=sqlite", "locks=in-process"}
	if pure {
		wants = append(wants, "using the embedded default", `database="SQLite file syncd.db"`, "in-process (single instance)")
	}
	for _, want := range wants {
		if !strings.Contains(head, want) {
			t.Errorf("the first log lines of syncd run do not mention %q:\n%s", want, head)
		}
	}
}

// portFree reports whether addr can be listened on right now.
func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// TestBadConfig checks that `syncd run` refuses a bad configuration with a
// non-zero exit and stderr naming the key, and refuses a MySQL database
// without the schema, saying to run `syncd schema apply`.
func TestBadConfig(t *testing.T) {
	cases := []struct {
		name  string
		env   []string
		yaml  string   // written to syncd.yaml and passed with --config
		wants []string // in stderr
	}{
		{name: "shards do not divide 1024", env: []string{"SYNCD_POLLER_SHARDS=7"},
			wants: []string{"poller.shards", "SYNCD_POLLER_SHARDS"}},
		{name: "unknown driver", env: []string{"SYNCD_DATABASE_DRIVER=oracle"},
			wants: []string{"database.driver", "SYNCD_DATABASE_DRIVER", "oracle"}},
		{name: "bad duration", env: []string{"SYNCD_POLLER_LEASE=soon"},
			wants: []string{"poller.lease", "SYNCD_POLLER_LEASE"}},
		{name: "unknown key in YAML", yaml: "poller:\n  schedule: \"@every 1s\"\n  shardz: 4\n",
			wants: []string{"shardz"}},
		{name: "bad schedule", env: []string{"SYNCD_POLLER_SCHEDULE=every second"},
			wants: []string{"poller.schedule", "SYNCD_POLLER_SCHEDULE"}},
		{name: "zero interval", env: []string{"SYNCD_POLLER_SCHEDULE=@every 0s"},
			wants: []string{"poller.schedule", "SYNCD_POLLER_SCHEDULE"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			env := append(cleanEnv(), "SYNCD_HTTP_ADDR=127.0.0.1:0")
			env = append(env, c.env...)
			args := []string{"run"}
			if c.yaml != "" {
				path := filepath.Join(dir, "syncd.yaml")
				if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
				args = []string{"--config", path, "run"}
			}
			res := runCLI(t, dir, 20*time.Second, env, args...)
			checkRefused(t, res, c.wants...)
		})
	}

	t.Run("MySQL without schema", func(t *testing.T) {
		dsn := testdb.NewMySQLDatabase(t) // empty: no schema
		dir := t.TempDir()
		env := append(cleanEnv(), "SYNCD_HTTP_ADDR=127.0.0.1:0", "SYNCD_DATABASE_DRIVER=mysql", "SYNCD_DATABASE_DSN="+dsn,
			"SYNCD_BOT_ENABLED=false")
		res := runCLI(t, dir, 30*time.Second, env, "run")
		checkRefused(t, res, "syncd schema apply")
	})
}

func checkRefused(t *testing.T, res cliResult, wants ...string) {
	t.Helper()
	if res.code == 0 {
		t.Errorf("syncd run exited 0, want non-zero\nstderr: %s", res.stderr)
	}
	for _, want := range wants {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not name %q:\n%s", want, res.stderr)
		}
	}
}

// syncd bot ask answers as the daemon would with the same configuration:
// bot.threshold from the environment decides whether "hello" is answered
// by the bot or left to an agent.
func TestBotAskFollowsConfig(t *testing.T) {
	dir := t.TempDir()
	env := cleanEnv()
	if lib := os.Getenv("SYNCD_ONNXRUNTIME_LIB"); lib != "" {
		env = append(env, "SYNCD_ONNXRUNTIME_LIB="+lib)
	}
	for threshold, want := range map[string]string{"0.5": "sent automatically", "1": "suggested to an agent"} {
		res := runCLI(t, dir, 30*time.Second, append(env, "SYNCD_BOT_THRESHOLD="+threshold), "bot", "ask", "hello")
		if res.code != 0 || !strings.Contains(res.stdout, "greeting") || !strings.Contains(res.stdout, want) {
			t.Errorf("bot.threshold %s: syncd bot ask hello: exit %d, want %q\nstdout: %s\nstderr: %s", threshold, res.code, want, res.stdout, res.stderr)
		}
	}
}
