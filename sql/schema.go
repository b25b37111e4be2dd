// Package schema embeds the SQL files of this folder and applies them in
// order, recording each in syncd_schema_migrations. The files are the
// source of truth a DBA reviews; this code only runs them. Script is the
// same migrations for a DBA to run by hand, each with the INSERT that
// records it.
package schema

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed mysql/*.sql postgres/*.sql sqlite/*.sql
var files embed.FS

// ErrOutdated means the database lacks migrations this binary needs, or an
// applied migration differs from the embedded file.
var ErrOutdated = errors.New("database schema is not up to date")

// Dialects this package has files for.
const (
	MySQL    = "mysql"
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// Migration is one numbered SQL file.
type Migration struct {
	Version  int
	Name     string // file name without the .sql suffix
	SQL      string
	Checksum string // sha256 of the file, hex
}

// State is a migration as the database sees it.
type State struct {
	Migration
	AppliedAt time.Time // zero when not applied
	Modified  bool      // applied, but from a different file
	Recorded  string    // the checksum syncd_schema_migrations holds, when applied
}

// Migrations returns the embedded migrations of a dialect, in order.
func Migrations(dialect string) ([]Migration, error) {
	entries, err := fs.ReadDir(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: unknown dialect", dialect)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ".sql")
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", e.Name())
		}
		body, err := files.ReadFile(path.Join(dialect, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		out = append(out, Migration{Version: v, Name: name, SQL: string(body), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

const table = "syncd_schema_migrations"

func createTable(dialect string) string {
	if dialect == Postgres {
		return `CREATE TABLE IF NOT EXISTS ` + table + ` (
  version    INTEGER        NOT NULL PRIMARY KEY,
  name       VARCHAR(191)   NOT NULL,
  checksum   CHAR(64)       NOT NULL,
  applied_at TIMESTAMPTZ(6) NOT NULL
)`
	}
	if dialect == MySQL {
		return `CREATE TABLE IF NOT EXISTS ` + table + ` (
  version    INT          NOT NULL PRIMARY KEY,
  name       VARCHAR(191) NOT NULL,
  checksum   CHAR(64)     NOT NULL,
  applied_at DATETIME(6)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`
	}
	return `CREATE TABLE IF NOT EXISTS ` + table + ` (
  version    INTEGER  NOT NULL PRIMARY KEY,
  name       TEXT     NOT NULL,
  checksum   TEXT     NOT NULL,
  applied_at DATETIME NOT NULL
)`
}

// Status reports every embedded migration and whether it is applied.
func Status(ctx context.Context, db *sql.DB, dialect string) ([]State, error) {
	ms, err := Migrations(dialect)
	if err != nil {
		return nil, err
	}
	return status(ctx, db, ms)
}

// querier is a *sql.DB or *sql.Conn: Apply reads through its own connection
// so that it works on a pool of one (SQLite).
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func status(ctx context.Context, db querier, ms []Migration) ([]State, error) {
	applied, err := appliedMigrations(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make([]State, 0, len(ms))
	for _, m := range ms {
		st := State{Migration: m}
		if a, ok := applied[m.Version]; ok {
			st.AppliedAt = a.at
			st.Modified = a.checksum != m.Checksum
			st.Recorded = a.checksum
		}
		out = append(out, st)
	}
	return out, nil
}

type appliedRow struct {
	checksum string
	at       time.Time
}

func appliedMigrations(ctx context.Context, db querier) (map[int]appliedRow, error) {
	rows, err := db.QueryContext(ctx, `SELECT version, checksum, applied_at FROM `+table)
	if err != nil {
		if isMissingTable(err) {
			return map[int]appliedRow{}, nil
		}
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	out := map[int]appliedRow{}
	for rows.Next() {
		var v int
		var r appliedRow
		if err := rows.Scan(&v, &r.checksum, &r.at); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		out[v] = r
	}
	return out, rows.Err()
}

func isMissingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "Error 1146") ||
		strings.Contains(msg, "SQLSTATE 42P01") // PostgreSQL: undefined_table
}

// Check returns an error wrapping ErrOutdated that says what to run when the
// database is not at this binary's schema.
func Check(ctx context.Context, db *sql.DB, dialect string) error {
	states, err := Status(ctx, db, dialect)
	if err != nil {
		return err
	}
	var missing []string
	firstMissing := 0
	for _, s := range states {
		if s.Modified {
			return fmt.Errorf("%w: %s", ErrOutdated, ModifiedHint(dialect, s))
		}
		if s.AppliedAt.IsZero() {
			if len(missing) == 0 {
				firstMissing = s.Version
			}
			missing = append(missing, s.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s; run `syncd schema apply`, or have a DBA run the SQL that `syncd schema print --dialect %s --from %d` shows (the missing sections; each records itself in %s)",
			ErrOutdated, strings.Join(missing, ", "), dialect, firstMissing, table)
	}
	return nil
}

// ModifiedHint says what to do about a migration that was applied from
// another version of its file (the checksums differ): neither Apply nor a
// rerun can fix that, a person has to compare the two and then record the
// file this syncd carries.
func ModifiedHint(dialect string, s State) string {
	return fmt.Sprintf("migration %s was applied from a different version of sql/%s/%s.sql (recorded checksum %.12s…, this syncd carries %.12s…). "+
		"Compare the database with that section of `syncd schema print --dialect %s` and bring it in line by hand; then record this version: "+
		"UPDATE %s SET checksum = '%s' WHERE version = %d;",
		s.Name, dialect, s.Name, s.Recorded, s.Checksum, dialect, table, s.Checksum, s.Version)
}

// Record returns the statement that records m as applied in
// syncd_schema_migrations: the row Apply writes, in the dialect's SQL, for a
// DBA who runs the migrations by hand.
func Record(dialect string, m Migration) string {
	now := "strftime('%Y-%m-%d %H:%M:%f', 'now')" // UTC, as the driver reads it
	switch dialect {
	case MySQL:
		now = "UTC_TIMESTAMP(6)"
	case Postgres:
		now = "now()"
	}
	return fmt.Sprintf("INSERT INTO %s (version, name, checksum, applied_at) VALUES (%d, '%s', '%s', %s);",
		table, m.Version, strings.ReplaceAll(m.Name, "'", "''"), m.Checksum, now)
}

// Script is what `syncd schema print` shows: the bookkeeping table, then
// every migration file as it is, each followed by the Record statement that
// marks it applied. Run in order by hand (`syncd schema print --dialect mysql | mysql DB`),
// it leaves the database as Apply would, so Check and Apply accept it. The
// checksums stay over the files alone; the INSERT lives only here.
func Script(dialect string) (string, error) { return ScriptFrom(dialect, 0) }

// ScriptFrom is Script with only the migrations numbered from and later:
// what a database that has the earlier ones needs (`syncd schema print
// --from N`).
func ScriptFrom(dialect string, from int) (string, error) {
	all, err := Migrations(dialect)
	if err != nil {
		return "", err
	}
	var ms []Migration
	for _, m := range all {
		if m.Version >= from {
			ms = append(ms, m)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- syncd schema (%s): %d migrations, in order. Each ends with the INSERT that\n", dialect, len(ms))
	fmt.Fprintf(&b, "-- records it in %s, as `syncd schema apply` does; to upgrade by\n", table)
	b.WriteString("-- hand, run only the sections `syncd schema status` lists as missing\n")
	b.WriteString("-- (`syncd schema print --from N` prints those from N on).\n")
	b.WriteString("-- Stop at the first error (mysql does; never --force; sqlite3 needs -bail,\n")
	b.WriteString("-- psql -v ON_ERROR_STOP=1):\n")
	if dialect == Postgres {
		b.WriteString("-- each section is one transaction: a section that failed left nothing\n")
		b.WriteString("-- behind; fix the cause and run the script again from that section.\n\n")
	} else {
		b.WriteString("-- a section that failed must not be recorded. MySQL cannot roll back DDL,\n")
		b.WriteString("-- so after a failure, finish or undo that section's statements by hand,\n")
		b.WriteString("-- then run its INSERT.\n\n")
	}
	b.WriteString(createTable(dialect) + ";\n")
	for _, m := range ms {
		fmt.Fprintf(&b, "\n-- ===== %s (sql/%s/%s.sql) =====\n", m.Name, dialect, m.Name)
		if dialect == Postgres {
			b.WriteString("BEGIN;\n")
		}
		b.WriteString(m.SQL)
		if !strings.HasSuffix(m.SQL, "\n") {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "-- record %s as applied\n%s\n", m.Name, Record(dialect, m))
		if dialect == Postgres {
			b.WriteString("COMMIT;\n")
		}
	}
	return b.String(), nil
}

// Apply runs every migration not yet applied, in order, and returns those it
// ran. On MySQL a named lock keeps two instances from applying at once.
func Apply(ctx context.Context, db *sql.DB, dialect string) ([]Migration, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply schema: %w", err)
	}
	defer conn.Close()
	if dialect == MySQL {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK('syncd_schema', 60)`).Scan(&got); err != nil {
			return nil, fmt.Errorf("apply schema: take lock syncd_schema: %w", err)
		} else if got.Int64 != 1 {
			return nil, errors.New("apply schema: another `syncd schema apply` has held the lock syncd_schema for 60s: let it finish, then run `syncd schema status`")
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT RELEASE_LOCK('syncd_schema')`) //nolint:errcheck // the lock dies with the connection anyway
	}
	if dialect == Postgres {
		// The same, as a session advisory lock (the key is arbitrary and
		// syncd's own). Waits at most 60s, like GET_LOCK above.
		if _, err := conn.ExecContext(ctx, `SET lock_timeout = '60s'`); err != nil {
			return nil, fmt.Errorf("apply schema: %w", err)
		}
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+pgSchemaLock+`)`); err != nil {
			return nil, fmt.Errorf("apply schema: take advisory lock %s (is another `syncd schema apply` running?): %w", pgSchemaLock, err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+pgSchemaLock+`)`) //nolint:errcheck // the lock dies with the connection anyway
	}
	if _, err := conn.ExecContext(ctx, createTable(dialect)); err != nil {
		return nil, fmt.Errorf("create %s: %w", table, err)
	}
	ms, err := Migrations(dialect)
	if err != nil {
		return nil, err
	}
	states, err := status(ctx, conn, ms)
	if err != nil {
		return nil, err
	}
	var ran []Migration
	for _, s := range states {
		if s.Modified {
			return ran, fmt.Errorf("%w: %s", ErrOutdated, ModifiedHint(dialect, s))
		}
		if !s.AppliedAt.IsZero() {
			continue
		}
		if dialect == Postgres {
			// PostgreSQL runs DDL in transactions: a migration and its
			// record take effect together or not at all.
			if err := applyInTx(ctx, conn, s.Migration); err != nil {
				return ran, err
			}
			ran = append(ran, s.Migration)
			continue
		}
		for i, stmt := range Statements(s.SQL) {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return ran, fmt.Errorf("apply %s, statement %d: %w%s", s.Name, i+1, err, partlyApplied(dialect, s.Name, i))
			}
		}
		if _, err := conn.ExecContext(ctx, Record(dialect, s.Migration)); err != nil {
			return ran, fmt.Errorf("record %s: %w", s.Name, err)
		}
		ran = append(ran, s.Migration)
	}
	return ran, nil
}

// pgSchemaLock is the advisory lock key of `syncd schema apply` on
// PostgreSQL.
const pgSchemaLock = "495958516580" // the bytes of "syncd" as a number

func applyInTx(ctx context.Context, conn *sql.Conn, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply %s: %w", m.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for i, stmt := range Statements(m.SQL) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("apply %s, statement %d: %w; nothing of %s took effect (PostgreSQL rolled it back): fix the cause and run `syncd schema apply` again", m.Name, i+1, err, m.Name)
		}
	}
	if _, err := tx.ExecContext(ctx, Record(Postgres, m)); err != nil {
		return fmt.Errorf("record %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("apply %s: commit: %w", m.Name, err)
	}
	return nil
}

// partlyApplied is the next step after statement done+1 of a migration
// failed: the statements before it took effect (DDL does not roll back)
// and the migration is not recorded, so a second apply would stumble on
// them.
func partlyApplied(dialect, name string, done int) string {
	if done == 0 {
		return fmt.Sprintf("; nothing of %s took effect: fix the cause and run `syncd schema apply` again", name)
	}
	return fmt.Sprintf("; statements 1-%d of %s took effect and stay (DDL does not roll back), and %s is not recorded: "+
		"either undo them and run `syncd schema apply` again, or run the rest of its section of `syncd schema print --dialect %s` by hand, with its INSERT",
		done, name, name, dialect)
}

// Statements splits a migration file into statements: comment lines are
// dropped and a statement ends with a semicolon at the end of a line,
// except inside a $$-quoted body (a PostgreSQL function's). The files are
// written to that rule, so no SQL parser is needed.
func Statements(file string) []string {
	var out []string
	var cur strings.Builder
	inBody := false
	for _, line := range strings.Split(file, "\n") {
		trimmed := strings.TrimSpace(line)
		if !inBody && (trimmed == "" || strings.HasPrefix(trimmed, "--")) {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.Count(line, "$$")%2 == 1 {
			inBody = !inBody
		}
		if !inBody && strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
