// Package dialect is the seam between syncd's SQL and the three databases
// it speaks: MySQL/MariaDB, PostgreSQL and SQLite. Every statement is
// written once, with ? placeholders, and the few pieces in which the
// databases differ come from here; the stores ask nothing else about
// which database they talk to.
package dialect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/sqlbind"
)

// D names a database's SQL dialect; its values are the database.driver
// names and the sql/ folders.
type D string

const (
	MySQL    D = "mysql"
	Postgres D = "postgres"
	SQLite   D = "sqlite"
)

// Of is the dialect of a driver or gorm dialector name.
func Of(name string) (D, error) {
	switch d := D(name); d {
	case MySQL, Postgres, SQLite:
		return d, nil
	}
	return "", fmt.Errorf("unsupported database dialect %q (want mysql, postgres or sqlite)", name)
}

// ByteLength is the size in bytes of a text column: LENGTH counts bytes on
// MySQL, characters on PostgreSQL and on SQLite unless the value is a blob.
func (d D) ByteLength(col string) string {
	switch d {
	case SQLite:
		return "length(CAST(" + col + " AS BLOB))"
	case Postgres:
		return "octet_length(" + col + ")"
	}
	return "LENGTH(" + col + ")"
}

// ForceIndex pins an index: with ORDER BY … LIMIT n an optimizer may prefer
// walking the primary key, which crosses the whole sent history.
// PostgreSQL has no hints; its planner picks the index from statistics,
// which autovacuum keeps fresh on message_sync (sql/postgres/0001).
func (d D) ForceIndex(name string) string {
	switch d {
	case MySQL:
		return "FORCE INDEX (" + name + ")"
	case SQLite:
		return "INDEXED BY " + name
	}
	return ""
}

// TxOptions: READ COMMITTED, so that a claim never gap-locks the legacy
// writers' inserts on MySQL, and a row committed late is seen by the next
// statement on MySQL and PostgreSQL. SQLite has one writer.
func (d D) TxOptions() *sql.TxOptions {
	if d == SQLite {
		return nil
	}
	return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
}

// ForUpdate ends a SELECT that locks the rows it reads until the
// transaction ends. SQLite needs none: its transactions take the one
// write lock at BEGIN (_txlock=immediate).
func (d D) ForUpdate() string {
	if d == SQLite {
		return ""
	}
	return " FOR UPDATE"
}

// UTCNow is the database's current time, UTC, with microseconds.
func (d D) UTCNow() string {
	switch d {
	case SQLite:
		return `strftime('%Y-%m-%d %H:%M:%f', 'now')`
	case Postgres:
		return `clock_timestamp()`
	}
	return `UTC_TIMESTAMP(6)`
}

// Upsert is what follows an INSERT's VALUES to update the row whose unique
// key conflicts ("SET"-less on MySQL: the assignments come next).
func (d D) Upsert(conflict string) string {
	if d == MySQL {
		return " ON DUPLICATE KEY UPDATE "
	}
	return " ON CONFLICT (" + conflict + ") DO UPDATE SET "
}

// Inserted names, in an upsert's update part, the value the INSERT tried
// to write to col.
func (d D) Inserted(col string) string {
	if d == MySQL {
		return "VALUES(" + col + ")"
	}
	return "excluded." + col
}

// Greatest is the two-argument maximum.
func (d D) Greatest() string {
	if d == SQLite {
		return "max"
	}
	return "GREATEST"
}

// InsertIgnore is an INSERT of into ("table (cols) VALUES (...)") that
// does nothing when a row with the same key exists.
func (d D) InsertIgnore(into, key string) string {
	switch d {
	case SQLite:
		return "INSERT OR IGNORE INTO " + into
	case Postgres:
		return "INSERT INTO " + into + " ON CONFLICT (" + key + ") DO NOTHING"
	}
	return "INSERT IGNORE INTO " + into
}

// KeepExisting is what follows an INSERT's VALUES so that a row whose
// unique key (conflict) exists already is left as it is, without an error
// and without the INSERT affecting a row; any other error still fails.
// Not INSERT IGNORE / INSERT OR IGNORE, which also drop a row that breaks
// another rule. anyCol is a column MySQL assigns to itself (its no-op
// update: 0 rows affected).
func (d D) KeepExisting(conflict, anyCol string) string {
	if d == MySQL {
		return " ON DUPLICATE KEY UPDATE " + anyCol + " = " + anyCol
	}
	return " ON CONFLICT (" + conflict + ") DO NOTHING"
}

// Rebind turns ? placeholders into the driver's for statements passed to
// database/sql directly (gorm rebinds its own).
func (d D) Rebind(q string) string {
	if d != Postgres {
		return q
	}
	return sqlbind.Dollar(q)
}

// Returning reports whether the driver has no LastInsertId, so an INSERT
// that needs its id appends RETURNING id and reads a row.
func (d D) Returning() bool { return d == Postgres }

// Time binds t as the dialect compares times (UTC text on SQLite).
func (d D) Time(t time.Time) any { return dbtime.Arg(d == SQLite, t) }

// IsDuplicate reports a unique-key violation.
func IsDuplicate(err error) bool {
	var me *mysqldrv.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" // unique_violation
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// IsRetryable reports a deadlock or lock wait timeout (MySQL 1213, 1205;
// PostgreSQL 40P01, 55P03 from lock_timeout), after which the whole
// transaction may simply run again.
func IsRetryable(err error) bool {
	var me *mysqldrv.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "55P03")
}

// NullIfEmpty binds "" as NULL.
func NullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Execer is what InsertID needs of a connection or transaction (gorm's
// Statement.ConnPool, *sql.Tx, *sql.DB).
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// InsertID runs an INSERT with ? placeholders and returns the new row's
// id: the driver's LastInsertId, or RETURNING id where there is none.
func (d D) InsertID(ctx context.Context, ex Execer, query string, args ...any) (int64, error) {
	if d.Returning() {
		var id int64
		err := ex.QueryRowContext(ctx, d.Rebind(query)+" RETURNING id", args...).Scan(&id)
		return id, err
	}
	res, err := ex.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// deadlockRuns is how often RetryDeadlocks runs a transaction at most.
const deadlockRuns = 3

// RetryDeadlocks runs tx, a whole transaction, again when it ended in a
// deadlock or a lock wait timeout (IsRetryable): the database rolled it
// back, so running it again is safe. Every writer of the chat tables goes
// through it, so that one policy holds for the relay and the console.
func RetryDeadlocks(tx func() error) error {
	var err error
	for range deadlockRuns {
		if err = tx(); err == nil || !IsRetryable(err) {
			return err
		}
	}
	return err
}
