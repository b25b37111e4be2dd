package relay

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/store"
)

// legacyDB is one dialect's database as the tests below meet it: the
// syncd environment that points at it, plain SQL for the test's own
// checks, and the database's own command-line client for what an operator
// or a legacy application does by hand.
type legacyDB struct {
	t       *testing.T
	dialect string
	dir     string   // the instances' working directory
	env     []string // syncd's configuration
	db      *sql.DB
	client  func(stmt string) // runs stmt with mysql (a session at +08:00) or sqlite3
	start   func(name string, extra ...string) *instance
}

// newLegacyDB sets up a database of the dialect with the schema applied.
// MySQL is a bundle's MariaDB database with Redis locks; SQLite is the
// embedded default (a syncd.db file, in-process locks) plus fast ticks.
func newLegacyDB(t *testing.T, dialect string) *legacyDB {
	t.Helper()
	fast := []string{"SYNCD_POLLER_SCHEDULE=@every 100ms", "SYNCD_POLLER_LEASE=3s", "SYNCD_BOT_ENABLED=false"}
	switch dialect {
	case "mysql":
		b := setup(t)
		bin, err := exec.LookPath("mysql")
		if err != nil {
			needClient(t, "mysql client (Debian: apt-get install mariadb-client)")
		}
		cfg, err := mysql.ParseDSN(b.dsn)
		if err != nil {
			t.Fatal(err)
		}
		host, port, _ := strings.Cut(cfg.Addr, ":")
		return &legacyDB{t: t, dialect: dialect, dir: b.dir, env: b.env(fast...), db: b.db,
			client: func(stmt string) {
				t.Helper()
				runClient(t, exec.Command(bin, "--protocol=TCP", "-h", host, "-P", port, "-u", cfg.User, cfg.DBName,
					"-e", "SET time_zone = '+08:00'; "+stmt), cfg.Passwd)
			},
			start: func(name string, extra ...string) *instance {
				return b.start(name, append(b.env(fast...), append([]string{"SYNCD_INSTANCE=" + name}, extra...)...))
			},
		}
	case "sqlite":
		bin, err := exec.LookPath("sqlite3")
		if err != nil {
			needClient(t, "sqlite3 (Debian: apt-get install sqlite3)")
		}
		dir := t.TempDir()
		env := append(cleanEnv(), append(fast, "SYNCD_HTTP_ADDR=127.0.0.1:0")...)
		path := filepath.Join(dir, "syncd.db")
		// The schema, as `syncd run` would apply it on its first start.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := store.Open(ctx, "sqlite", path, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if _, err := st.ApplySchema(ctx); err != nil {
			t.Fatal(err)
		}
		return &legacyDB{t: t, dialect: dialect, dir: dir, env: env, db: st.SQL(),
			client: func(stmt string) {
				t.Helper()
				runClient(t, exec.Command(bin, "-bail", "-cmd", ".timeout 10000", path, stmt), "")
			},
			start: func(name string, extra ...string) *instance {
				return startProcess(t, dir, name, append(env, extra...), "run")
			},
		}
	}
	t.Fatalf("unknown dialect %s", dialect)
	return nil
}

func runClient(t *testing.T, cmd *exec.Cmd, password string) {
	t.Helper()
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+password)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
}

// needClient stops a test that needs a command-line client this machine
// lacks: a failure in CI, which installs the clients (.ci/run), a skip on a
// developer's machine.
func needClient(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("no %s on PATH; .ci/run installs it", what)
	}
	t.Skipf("no %s on PATH (CI installs it and runs this test)", what)
}

func (l *legacyDB) insert(key, body string, payload any) int64 {
	l.t.Helper()
	res, err := l.db.Exec(`INSERT INTO message_sync (conversation_key, body, payload) VALUES (?, ?, ?)`, key, body, payload)
	if err != nil {
		l.t.Fatalf("insert: %v", err)
	}
	id, _ := res.LastInsertId()
	return id
}

type rowState struct {
	status, lastErr, claimedBy string
	attempts                   int
}

func (l *legacyDB) row(id int64) rowState {
	l.t.Helper()
	var r rowState
	if err := l.db.QueryRow(`SELECT status, COALESCE(last_error, ''), COALESCE(claimed_by, ''), attempts FROM message_sync WHERE id = ?`, id).
		Scan(&r.status, &r.lastErr, &r.claimedBy, &r.attempts); err != nil {
		l.t.Fatalf("read row %d: %v", id, err)
	}
	return r
}

func (l *legacyDB) requeue(args ...string) cliResult {
	l.t.Helper()
	return runCLI(l.t, l.dir, 30*time.Second, l.env, append([]string{"requeue"}, args...)...)
}

// TestOrphanedRowIsRelayed: a row an operator sets to processing by hand,
// and one an older syncd claimed (a token, no entry in
// message_sync_claims, an expired lease), are returned to pending by
// `syncd run` with a reason in its log and relayed once; a row set to
// processing while syncd runs is found too.
func TestOrphanedRowIsRelayed(t *testing.T) {
	for _, dialect := range []string{"mysql", "sqlite"} {
		t.Run(dialect, func(t *testing.T) {
			l := newLegacyDB(t, dialect)
			l.client(`INSERT INTO message_sync (conversation_key, body, status) VALUES ('stuck-1', 'set to processing by hand', 'processing')`)
			l.client(`INSERT INTO message_sync (conversation_key, body, status, claim_token, claimed_by, lease_until)
 VALUES ('stuck-2', 'claimed by an older syncd', 'processing', '0123456789abcdef0123456789abcdef', 'syncd-0.9', '2000-01-01 00:00:00')`)
			st := runCLI(t, l.dir, 30*time.Second, l.env, "status")
			if st.code != 0 || !strings.Contains(st.stdout, "processing with no claim in flight: 2 rows") {
				t.Errorf("syncd status does not show the orphaned rows: exit %d\nstdout: %s\nstderr: %s", st.code, st.stdout, st.stderr)
			}
			in := l.start("relay-1")
			for i := 0; i < 20; i++ {
				l.insert(fmt.Sprintf("conv-%d", i%4), fmt.Sprintf("ordinary %d", i), nil)
			}
			waitFor(t, 60*time.Second, "every row sent", func() (bool, string) {
				if in.exited() {
					t.Fatalf("syncd run exited:\n%s", tail(in.logPath, 30))
				}
				var sent, all int
				if err := l.db.QueryRow(`SELECT COALESCE(SUM(status = 'sent'), 0), COUNT(*) FROM message_sync`).Scan(&sent, &all); err != nil {
					return false, err.Error()
				}
				return sent == all, fmt.Sprintf("%d of %d sent", sent, all)
			})
			for id := int64(1); id <= 2; id++ {
				if r := l.row(id); r.status != "sent" || r.attempts != 0 || !strings.Contains(r.lastErr, "relayed after the orphan sweep") {
					t.Errorf("orphaned row %d: %+v; want sent with no attempt counted, saying it was returned", id, r)
				}
			}
			// While it runs, an operator puts a sent row back to processing:
			// history has it, so it goes back to sent rather than twice into
			// history.
			l.client(`UPDATE message_sync SET status = 'processing' WHERE id = 1`)
			waitFor(t, 60*time.Second, "the row set back to processing to be returned", func() (bool, string) {
				r := l.row(1)
				return r.status == "sent" && strings.Contains(r.lastErr, "not relayed twice"), fmt.Sprintf("%+v", r)
			})
			var inHistory int
			if err := l.db.QueryRow(`SELECT COUNT(*) FROM chat_messages WHERE source_table = 'message_sync' AND source_id = 1`).Scan(&inHistory); err != nil || inHistory != 1 {
				t.Errorf("row 1 is %d times in chat history (%v), want once", inHistory, err)
			}
			log := in.log()
			returned := regexp.MustCompile(`msg="returned orphaned processing rows".*ids=\[([0-9 ]+)\].*reason=`)
			var ids []string
			for _, m := range returned.FindAllStringSubmatch(log, -1) {
				ids = append(ids, strings.Fields(m[1])...)
			}
			if !containsAll(ids, "1", "2") {
				t.Errorf("the log names returned orphans %v, want rows 1 and 2 with the reason:\n%s", ids, tail(in.logPath, 20))
			}
			if v, err := in.metric("syncd_rows_orphaned_total"); err != nil || v != 3 {
				t.Errorf("syncd_rows_orphaned_total = %v (%v), want 3", v, err)
			}
		})
	}
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}
