package schema_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/internal/testdb"
	schema "github.com/syncd-dev/syncd/sql"
	"github.com/syncd-dev/syncd/store"
)

func TestStatementsSplitsOnLineEndSemicolons(t *testing.T) {
	got := schema.Statements("-- header; with a semicolon\nCREATE TABLE a (\n  x INT -- note\n);\n\nCREATE INDEX i ON a (x);\n")
	if len(got) != 2 || !strings.HasPrefix(got[0], "CREATE TABLE a") || got[1] != "CREATE INDEX i ON a (x)" {
		t.Fatalf("got %q", got)
	}
}

// Both dialects carry the same numbered migrations, each with a header.
func TestDialectsInStep(t *testing.T) {
	my, err := schema.Migrations(schema.MySQL)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := schema.Migrations(schema.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(my) != len(lite) || len(my) == 0 {
		t.Fatalf("%d mysql vs %d sqlite migrations", len(my), len(lite))
	}
	// PostgreSQL started at the schema of 0007 (its 0001-0004 hold what
	// 0005-0007 changed elsewhere); every file it has is named as the
	// other dialects' file of that number, and from 0008 on it has each.
	pg, err := schema.Migrations(schema.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	byVersion := map[int]string{}
	for _, m := range my {
		byVersion[m.Version] = m.Name
	}
	havePG := map[int]bool{}
	for _, m := range pg {
		havePG[m.Version] = true
		if byVersion[m.Version] != m.Name {
			t.Errorf("postgres migration %s: mysql's %04d is %q", m.Name, m.Version, byVersion[m.Version])
		}
		if !strings.HasPrefix(m.SQL, "-- "+m.Name) {
			t.Errorf("postgres %s does not start with a header comment naming it", m.Name)
		}
	}
	for _, m := range my {
		if (m.Version <= 4 || m.Version >= 8) && !havePG[m.Version] {
			t.Errorf("postgres lacks %s", m.Name)
		}
	}
	for i := range my {
		if my[i].Name != lite[i].Name {
			t.Errorf("migration %d: %s vs %s", i, my[i].Name, lite[i].Name)
		}
		for _, m := range []schema.Migration{my[i], lite[i]} {
			if !strings.HasPrefix(m.SQL, "-- "+m.Name) {
				t.Errorf("%s does not start with a header comment naming it", m.Name)
			}
			// Statements and the printed script rely on it: a last
			// statement without its semicolon would swallow the INSERT
			// that schema print appends.
			var last string
			for line := range strings.Lines(m.SQL) {
				if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
					last = l
				}
			}
			if !strings.HasSuffix(last, ";") {
				t.Errorf("%s does not end with a semicolon-terminated statement", m.Name)
			}
		}
	}
}

// The printed script carries each migration file unchanged, followed by the
// INSERT that records it with the checksum Apply would write.
func TestScriptRecordsEachMigration(t *testing.T) {
	for _, dialect := range append(testdb.Dialects, schema.Postgres) {
		script, err := schema.Script(dialect)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := schema.Migrations(dialect)
		rest := script
		for _, m := range ms {
			i := strings.Index(rest, m.SQL)
			if i < 0 {
				t.Fatalf("%s: script lacks %s as it is in the file", dialect, m.Name)
			}
			rest = rest[i+len(m.SQL):]
			rec := schema.Record(dialect, m)
			at, next := strings.Index(rest, "\nINSERT INTO syncd_schema_migrations "), strings.Index(rest, "\n-- =====")
			if !strings.Contains(rec, m.Checksum) || at < 0 || (next >= 0 && next < at) || !strings.HasPrefix(rest[at+1:], rec+"\n") {
				t.Fatalf("%s: %s is not followed by %q", dialect, m.Name, rec)
			}
		}
	}
}

// A DBA runs `syncd schema print` by hand, statement by statement, on an
// empty database: afterwards status reports everything applied, the startup
// check passes and apply has nothing to do.
func TestPrintedScriptAppliedByHand(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			st := emptyStore(t, ctx, dialect)
			script, err := schema.Script(dialect)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := st.SQL().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i, stmt := range schema.Statements(script) {
				if _, err := conn.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("statement %d: %v\n%s", i+1, err, stmt)
				}
			}
			conn.Close()
			checkUpToDate(t, ctx, st)
		})
	}
}

// The same through the command-line clients, as `syncd schema print | mysql
// DB` and `syncd schema print | sqlite3 FILE`.
func TestPrintedScriptThroughClients(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			script, err := schema.Script(dialect)
			if err != nil {
				t.Fatal(err)
			}
			var cmd *exec.Cmd
			var dsn string
			switch dialect {
			case schema.MySQL:
				bin, err := exec.LookPath("mysql")
				if err != nil {
					needClient(t, "mysql client (Debian: apt-get install mariadb-client)")
				}
				dsn = testdb.NewMySQLDatabase(t)
				cfg, err := mysql.ParseDSN(dsn)
				if err != nil {
					t.Fatal(err)
				}
				host, port, _ := strings.Cut(cfg.Addr, ":")
				cmd = exec.CommandContext(ctx, bin, "--protocol=TCP", "-h", host, "-P", port, "-u", cfg.User, cfg.DBName)
				cmd.Env = append(os.Environ(), "MYSQL_PWD="+cfg.Passwd)
			case schema.SQLite:
				bin, err := exec.LookPath("sqlite3")
				if err != nil {
					needClient(t, "sqlite3 (Debian: apt-get install sqlite3)")
				}
				dsn = filepath.Join(t.TempDir(), "syncd.db")
				cmd = exec.CommandContext(ctx, bin, "-bail", dsn)
			}
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, out)
			}
			st, err := store.Open(ctx, dialect, dsn, 2)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			checkUpToDate(t, ctx, st)
		})
	}
}

// The bare files, without their INSERTs, are not recognised: the check above
// is what tells the two apart.
func TestBareFilesAreNotRecorded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := emptyStore(t, ctx, schema.MySQL)
	ms, _ := schema.Migrations(schema.MySQL)
	for _, m := range ms {
		for _, stmt := range schema.Statements(m.SQL) {
			if _, err := st.SQL().ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
		}
	}
	err := st.CheckSchema(ctx)
	if err == nil || !strings.Contains(err.Error(), "syncd schema print") {
		t.Fatalf("check after bare files: %v", err)
	}
}

func emptyStore(t *testing.T, ctx context.Context, dialect string) *store.Store {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "syncd.db")
	if dialect == schema.MySQL {
		dsn = testdb.NewMySQLDatabase(t)
	}
	st, err := store.Open(ctx, dialect, dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func checkUpToDate(t *testing.T, ctx context.Context, st *store.Store) {
	t.Helper()
	states, err := schema.Status(ctx, st.SQL(), st.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	if len(states) == 0 {
		t.Fatal("no migrations")
	}
	for _, s := range states {
		if s.AppliedAt.IsZero() || s.Modified {
			t.Errorf("%s: applied at %v, modified %v", s.Name, s.AppliedAt, s.Modified)
		}
		if d := time.Since(s.AppliedAt); d < -5*time.Minute || d > 5*time.Minute {
			t.Errorf("%s: applied_at %v is not now (UTC)", s.Name, s.AppliedAt)
		}
	}
	if err := st.CheckSchema(ctx); err != nil {
		t.Errorf("startup check: %v", err)
	}
	ran, err := st.ApplySchema(ctx)
	if err != nil || len(ran) != 0 {
		t.Errorf("apply after the script: ran %d, %v", len(ran), err)
	}
	var n int
	if err := st.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM syncd_schema_migrations`).Scan(&n); err != nil || n != len(states) {
		t.Errorf("syncd_schema_migrations has %d rows (%v), want %d", n, err, len(states))
	}
	if _, err := st.SQL().ExecContext(ctx, `INSERT INTO message_sync (conversation_key, body) VALUES ('k', 'hello')`); err != nil {
		t.Errorf("legacy insert: %v", err)
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
