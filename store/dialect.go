package store

import (
	"database/sql"
	"time"

	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/sqlbind"
	schema "github.com/syncd-dev/syncd/sql"
)

// The few pieces of SQL in which MySQL/MariaDB, PostgreSQL and SQLite
// differ. Every statement of the store is written once, with these
// filled in; nothing outside this file asks which database it talks to.

// byteLength is the size in bytes of a text column: LENGTH counts bytes
// on MySQL, characters on PostgreSQL and on SQLite unless the value is a
// blob.
func (s *Store) byteLength(col string) string {
	switch s.dialect {
	case schema.SQLite:
		return "length(CAST(" + col + " AS BLOB))"
	case schema.Postgres:
		return "octet_length(" + col + ")"
	}
	return "LENGTH(" + col + ")"
}

// forceIndex pins an index: with ORDER BY … LIMIT n an optimizer may prefer
// walking the primary key, which crosses the whole sent history.
// PostgreSQL has no hints; its planner picks the index from the
// statistics, which autovacuum keeps fresh on message_sync (0001's
// autovacuum settings).
func (s *Store) forceIndex(name string) string {
	switch s.dialect {
	case schema.MySQL:
		return "FORCE INDEX (" + name + ")"
	case schema.SQLite:
		return "INDEXED BY " + name
	}
	return ""
}

// txOptions: READ COMMITTED, so that a claim never gap-locks the legacy
// writers' inserts on MySQL, and so that on MySQL and PostgreSQL a row
// committed late is seen by the next statement. SQLite has one writer.
func (s *Store) txOptions() *sql.TxOptions {
	if s.dialect == schema.SQLite {
		return nil
	}
	return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
}

// utcNow is the database's current time, UTC, with microseconds.
func (s *Store) utcNow() string {
	switch s.dialect {
	case schema.SQLite:
		return `strftime('%Y-%m-%d %H:%M:%f', 'now')`
	case schema.Postgres:
		return `clock_timestamp()`
	}
	return `UTC_TIMESTAMP(6)`
}

// insertedValue names, in an upsert's update part, the value the INSERT
// tried to write to col.
func (s *Store) insertedValue(col string) string {
	if s.dialect == schema.MySQL {
		return "VALUES(" + col + ")"
	}
	return "excluded." + col
}

// greatest is the two-argument maximum.
func (s *Store) greatest() string {
	if s.dialect == schema.SQLite {
		return "max"
	}
	return "GREATEST"
}

// insertIgnore is an INSERT of into ("table (cols) VALUES (...)") that
// does nothing when a row with the same key exists.
func (s *Store) insertIgnore(into, key string) string {
	switch s.dialect {
	case schema.SQLite:
		return "INSERT OR IGNORE INTO " + into
	case schema.Postgres:
		return "INSERT INTO " + into + " ON CONFLICT (" + key + ") DO NOTHING"
	}
	return "INSERT IGNORE INTO " + into
}

// rebind turns the ? placeholders of a statement for database/sql into
// PostgreSQL's $1, $2, …; gorm does this itself.
func (s *Store) rebind(q string) string {
	if s.dialect != schema.Postgres {
		return q
	}
	return sqlbind.Dollar(q)
}

// ts binds a time the way each dialect compares it.
func (s *Store) ts(t time.Time) any { return dbtime.Arg(s.dialect == schema.SQLite, t) }
