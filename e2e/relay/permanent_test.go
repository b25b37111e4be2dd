package relay

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/internal/testdb"
)

// TestPermanentErrorsStopRun starts `syncd run` against dependencies that
// refuse it for good (wrong credentials, a database that does not exist, a
// file that is not a database, a Redis that wants another password): each
// must stop within seconds, non-zero, with the server's own message and
// what to check, instead of retrying forever.
func TestPermanentErrorsStopRun(t *testing.T) {
	dsn := testdb.NewMySQLDatabase(t)
	withDSN := func(edit func(*mysql.Config)) string {
		c, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		edit(c)
		return c.FormatDSN()
	}
	dir := t.TempDir()
	notADB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notADB, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	pwRedis := startRedis(t, "sekret")
	mysqlEnv := func(dsn string) []string {
		return []string{"SYNCD_DATABASE_DRIVER=mysql", "SYNCD_DATABASE_DSN=" + dsn}
	}
	cases := []struct {
		name  string
		env   []string
		wants []string // in stderr: the server's words, then the hint's
	}{
		{"wrong password", mysqlEnv(withDSN(func(c *mysql.Config) { c.Passwd = "wrong" })),
			[]string{"Error 1045", "Access denied", "password in database.dsn", "SYNCD_DATABASE_DSN"}},
		{"unknown database", mysqlEnv(withDSN(func(c *mysql.Config) { c.DBName = "syncd_no_such_database" })),
			[]string{"Error 1049", "syncd_no_such_database", "CREATE DATABASE"}},
		{"SQLite folder missing", []string{"SYNCD_DATABASE_DSN=" + filepath.Join(dir, "missing", "syncd.db")},
			[]string{"unable to open database file", "folder of database.dsn"}},
		{"SQLite file is not a database", []string{"SYNCD_DATABASE_DSN=" + notADB},
			[]string{"file is not a database", "not a SQLite database"}},
		{"Redis wants a password", []string{"SYNCD_DATABASE_DSN=" + filepath.Join(dir, "a.db"), "SYNCD_REDIS_ADDR=" + pwRedis},
			[]string{"NOAUTH", "redis.password", "SYNCD_REDIS_PASSWORD"}},
		{"Redis wrong password", []string{"SYNCD_DATABASE_DSN=" + filepath.Join(dir, "b.db"), "SYNCD_REDIS_ADDR=" + pwRedis,
			"SYNCD_REDIS_PASSWORD=wrong"},
			[]string{"WRONGPASS", "redis.password"}},
		{"Redis db out of range", []string{"SYNCD_DATABASE_DSN=" + filepath.Join(dir, "c.db"), "SYNCD_REDIS_ADDR=" + testdb.RedisAddr(),
			"SYNCD_REDIS_DB=4000"},
			[]string{"DB index is out of range", "redis.db"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := append(cleanEnv(), "SYNCD_HTTP_ADDR=127.0.0.1:0", "SYNCD_BOT_ENABLED=false")
			res := runCLI(t, dir, 20*time.Second, append(env, c.env...), "run")
			checkRefused(t, res, c.wants...)
		})
	}
}

// TestReadyzCarriesTheError: while syncd waits for a database that is not
// there yet, /readyz says what the last attempt got, not just "starting";
// while it runs, a database that starts refusing its password shows in
// /readyz and in the log with the server's message and what to check.
func TestReadyzCarriesTheError(t *testing.T) {
	t.Run("waiting for the database", func(t *testing.T) {
		dir := t.TempDir()
		c, err := mysql.ParseDSN(testdb.NewMySQLDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		c.Addr = closedAddr(t)
		env := append(cleanEnv(), "SYNCD_HTTP_ADDR=127.0.0.1:0", "SYNCD_BOT_ENABLED=false",
			"SYNCD_DATABASE_DRIVER=mysql", "SYNCD_DATABASE_DSN="+c.FormatDSN())
		in := startProcess(t, dir, "waiting", env, "run")
		waitFor(t, 20*time.Second, "/readyz to name the connection error", func() (bool, string) {
			r, err := in.readyz()
			if err != nil {
				return false, err.Error()
			}
			db := r.Checks["database"]
			return r.Code == 503 && strings.Contains(db, "starting") && strings.Contains(db, "connection refused"), db
		})
	})

	t.Run("password changed while running", func(t *testing.T) {
		b := setup(t)
		user, pass := "syncd_t_"+randomHex(6), randomHex(12)
		admin := b.db
		mustExec(t, admin, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, pass))
		t.Cleanup(func() { _, _ = admin.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", user)) })
		mustExec(t, admin, fmt.Sprintf("GRANT SELECT, INSERT, UPDATE, DELETE ON `%s`.* TO '%s'@'%%'", b.databaseName(), user))
		c, err := mysql.ParseDSN(b.dsn)
		if err != nil {
			t.Fatal(err)
		}
		c.User, c.Passwd = user, pass
		in := b.start("rotated", b.env("SYNCD_DATABASE_DSN="+c.FormatDSN()))
		in.waitReady(30 * time.Second)

		// The DBA rotates the password and the server drops the old
		// sessions: every new connection is refused.
		mustExec(t, admin, fmt.Sprintf("ALTER USER '%s'@'%%' IDENTIFIED BY '%s'", user, randomHex(12)))
		rows, err := admin.Query(`SELECT id FROM information_schema.processlist WHERE user = ?`, user)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			_, _ = admin.Exec("KILL CONNECTION " + strconv.FormatInt(id, 10))
		}
		waitFor(t, 20*time.Second, "/readyz to carry the server's refusal", func() (bool, string) {
			r, err := in.readyz()
			if err != nil {
				return false, err.Error()
			}
			db := r.Checks["database"]
			return r.Code == 503 && strings.Contains(db, "Access denied") && strings.Contains(db, "password in database.dsn"), db
		})
		if log := in.log(); !strings.Contains(log, "Access denied") || !strings.Contains(log, "password in database.dsn") {
			t.Errorf("the log does not carry the server's refusal and what to check:\n%s", tail(in.logPath, 20))
		}
		if in.exited() {
			t.Errorf("syncd exited while running: %v", in.state)
		}
	})
}

func mustExec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// closedAddr is a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startRedis runs a Redis server of the test's own with requirepass on a
// free port and returns its address; it is stopped at cleanup.
func startRedis(t *testing.T, password string) string {
	t.Helper()
	return runRedis(t, "auth", "requirepass "+password).addr()
}
