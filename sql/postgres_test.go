package schema_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/testdb"
	schema "github.com/syncd-dev/syncd/sql"
)

func openPostgres(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func checkPostgresUpToDate(t *testing.T, ctx context.Context, db *sql.DB) {
	t.Helper()
	if err := schema.Check(ctx, db, schema.Postgres); err != nil {
		t.Fatalf("check: %v", err)
	}
	ran, err := schema.Apply(ctx, db, schema.Postgres)
	if err != nil || len(ran) != 0 {
		t.Fatalf("apply after everything was applied: ran %v, %v", ran, err)
	}
}

// Apply on an empty PostgreSQL database, then again (nothing to do); the
// startup check passes.
func TestPostgresApply(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := openPostgres(t, testdb.NewPostgresDatabase(t))
	if err := schema.Check(ctx, db, schema.Postgres); err == nil {
		t.Fatal("check passed on an empty database")
	}
	ran, err := schema.Apply(ctx, db, schema.Postgres)
	ms, _ := schema.Migrations(schema.Postgres)
	if err != nil || len(ran) != len(ms) || len(ms) == 0 {
		t.Fatalf("apply: ran %d of %d: %v", len(ran), len(ms), err)
	}
	checkPostgresUpToDate(t, ctx, db)
}

// A migration that fails half-way leaves nothing behind on PostgreSQL (DDL
// is transactional), is not recorded, and the error says so.
func TestPostgresFailedMigrationLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := openPostgres(t, testdb.NewPostgresDatabase(t))
	// A table in the way of 0003's CREATE TABLE syncd_settings, after
	// 0001 and 0002 have created theirs.
	if _, err := db.ExecContext(ctx, `CREATE TABLE syncd_settings (x INT)`); err != nil {
		t.Fatal(err)
	}
	ran, err := schema.Apply(ctx, db, schema.Postgres)
	if err == nil || !strings.Contains(err.Error(), "0003_settings") || !strings.Contains(err.Error(), "nothing of 0003_settings took effect") {
		t.Fatalf("apply over a conflicting table: ran %v, error %v", ran, err)
	}
	states, err := schema.Status(ctx, db, schema.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if applied := !s.AppliedAt.IsZero(); applied != (s.Version < 3) {
			t.Errorf("%s applied %v", s.Name, applied)
		}
	}
	if _, err := db.ExecContext(ctx, `DROP TABLE syncd_settings`); err != nil {
		t.Fatal(err)
	}
	if _, err := schema.Apply(ctx, db, schema.Postgres); err != nil {
		t.Fatalf("apply after the cause is gone: %v", err)
	}
	checkPostgresUpToDate(t, ctx, db)
}

// `syncd schema print --dialect postgres | psql -v ON_ERROR_STOP=1 DB`,
// as a DBA runs it, leaves the database as Apply would.
func TestPostgresPrintedScriptThroughPsql(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bin, err := exec.LookPath("psql")
	if err != nil {
		needClient(t, "psql (Debian: apt-get install postgresql-client)")
	}
	dsn := testdb.NewPostgresDatabase(t)
	script, err := schema.Script(schema.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn)
	cmd.Stdin = strings.NewReader(script)
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	checkPostgresUpToDate(t, ctx, openPostgres(t, dsn))

	// A section that fails stops psql and leaves nothing of itself: the
	// sections before it are recorded, it is not.
	dsn = testdb.NewPostgresDatabase(t)
	db := openPostgres(t, dsn)
	if _, err := db.ExecContext(ctx, `CREATE TABLE syncd_settings (x INT)`); err != nil {
		t.Fatal(err)
	}
	cmd = exec.CommandContext(ctx, bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "syncd_settings") {
		t.Fatalf("psql over a conflicting table: %v\n%s", err, out)
	}
	states, err := schema.Status(ctx, db, schema.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if applied := !s.AppliedAt.IsZero(); applied != (s.Version < 3) {
			t.Errorf("after the failed section: %s applied %v", s.Name, applied)
		}
	}
}

// The legacy contract on PostgreSQL: the two-column INSERT works; times
// keep their instant whatever the writer's TimeZone; keys are compared byte
// for byte; a status syncd does not know is refused; the shard bucket is
// in 0..1023 and depends on the key alone.
func TestPostgresLegacyWriter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := testdb.NewPostgresDatabase(t)
	db := openPostgres(t, dsn)
	if _, err := schema.Apply(ctx, db, schema.Postgres); err != nil {
		t.Fatal(err)
	}
	// Writers at three zones. PostgreSQL reads a bare '+08:00' in SET
	// TimeZone as POSIX (eight hours west); an ISO offset needs the
	// interval form or a zone name, which is what a writer at +08:00 uses.
	u, _ := url.Parse(dsn)
	before := time.Now().Add(-time.Second)
	for _, zone := range []string{"Asia/Shanghai", "America/Bogota", "UTC"} {
		q := u.Query()
		q.Set("timezone", zone)
		w := *u
		w.RawQuery = q.Encode()
		writer := openPostgres(t, w.String())
		// The writer's own wall-clock literal, as an ERP formats now() in its zone.
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		local := time.Now().In(loc).Format("2006-01-02 15:04:05.999999")
		if _, err := writer.ExecContext(ctx, `INSERT INTO message_sync (conversation_key, body) VALUES ($1, 'default')`, "z-"+zone); err != nil {
			t.Fatal(err)
		}
		if _, err := writer.ExecContext(ctx, `INSERT INTO message_sync (conversation_key, body, created_at) VALUES ($1, 'literal', '`+local+`')`, "z-"+zone); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now().Add(time.Second)
	rows, err := db.QueryContext(ctx, `SELECT conversation_key, body, created_at FROM message_sync`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var key, body string
		var at time.Time
		if err := rows.Scan(&key, &body, &at); err != nil {
			t.Fatal(err)
		}
		n++
		if at.Before(before) || at.After(after) {
			t.Errorf("%s (%s): created_at %v, want between %v and %v", key, body, at, before, after)
		}
	}
	if err := rows.Err(); err != nil || n != 6 {
		t.Fatalf("%d rows, %v", n, err)
	}

	for _, k := range []string{"Order-1001", "order-1001", "order-1002", "order-1002 ", "cafe-1003", "café-1003"} {
		if _, err := db.ExecContext(ctx, `INSERT INTO conversations (conversation_key) VALUES ($1)`, k); err != nil {
			t.Errorf("conversation %q refused as a duplicate of another spelling: %v", k, err)
		}
	}
	var distinct int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT conversation_key) FROM conversations`).Scan(&distinct); err != nil || distinct != 6 {
		t.Errorf("%d distinct keys (%v), want 6", distinct, err)
	}

	for _, st := range []string{"PENDING", "", "done"} {
		if _, err := db.ExecContext(ctx, `INSERT INTO message_sync (conversation_key, body, status) VALUES ('s', 'b', $1)`, st); err == nil {
			t.Errorf("status %q accepted", st)
		}
	}

	var lo, hi, a, b int
	if err := db.QueryRowContext(ctx, `SELECT MIN(shard_bucket), MAX(shard_bucket) FROM message_sync`).Scan(&lo, &hi); err != nil || lo < 0 || hi > 1023 {
		t.Errorf("buckets %d..%d (%v)", lo, hi, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT MIN(shard_bucket), MAX(shard_bucket) FROM message_sync WHERE conversation_key = 'z-UTC'`).Scan(&a, &b); err != nil || a != b {
		t.Errorf("one key in buckets %d and %d (%v)", a, b, err)
	}
}

func TestStatementsKeepDollarQuotedBodies(t *testing.T) {
	got := schema.Statements("CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  -- a comment inside\n  PERFORM 1;\n  RETURN NULL;\nEND;\n$$;\nCREATE TRIGGER t AFTER INSERT ON x EXECUTE FUNCTION f();\n")
	if len(got) != 2 || !strings.Contains(got[0], "RETURN NULL;\nEND;\n$$") || !strings.HasPrefix(got[1], "CREATE TRIGGER") {
		t.Fatalf("got %q", got)
	}
}

// A DBA who has some migrations prints only the rest: `schema print --from
// N`, which the hint of Check names with the first missing number, runs
// as is after the earlier sections.
func TestScriptFromTheFirstMissing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bin, err := exec.LookPath("psql")
	if err != nil {
		needClient(t, "psql (Debian: apt-get install postgresql-client)")
	}
	ms, _ := schema.Migrations(schema.Postgres)
	second := ms[1].Version
	dsn := testdb.NewPostgresDatabase(t)
	db := openPostgres(t, dsn)
	if err := schema.Check(ctx, db, schema.Postgres); err == nil || !strings.Contains(err.Error(), "--from 1`") {
		t.Fatalf("check on an empty database: %v; want it to name --from 1", err)
	}
	first, err := schema.ScriptFrom(schema.Postgres, 0)
	if err != nil {
		t.Fatal(err)
	}
	first = first[:strings.Index(first, "-- ===== "+ms[1].Name)] // the first section only
	rest, err := schema.ScriptFrom(schema.Postgres, second)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rest, "===== "+ms[0].Name) || !strings.Contains(rest, "===== "+ms[len(ms)-1].Name) {
		t.Fatalf("--from %d printed the wrong sections", second)
	}
	for i, script := range []string{first, rest} {
		cmd := exec.CommandContext(ctx, bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn)
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("part %d: %v\n%s", i+1, err, out)
		}
		if i == 0 {
			if err := schema.Check(ctx, db, schema.Postgres); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("--from %d`", second)) {
				t.Fatalf("check after the first section: %v; want --from %d", err, second)
			}
		}
	}
	checkPostgresUpToDate(t, ctx, db)
}
