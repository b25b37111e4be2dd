// Package testdb gives tests a fresh database with syncd's schema: a new
// MariaDB/MySQL database per test (dropped at cleanup) on the server named
// by SYNCD_TEST_MYSQL_DSN, or a new SQLite file. Tests use real servers; a
// test that needs a server set up differently starts its own
// (StartMariaDB).
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/syncd-dev/syncd/store"
)

// DefaultMySQLDSN is the machine's MariaDB (root, no password).
const DefaultMySQLDSN = "root@tcp(127.0.0.1:3306)/test?parseTime=true"

// RedisAddr is the test Redis: SYNCD_TEST_REDIS_ADDR or 127.0.0.1:6379.
func RedisAddr() string {
	if a := os.Getenv("SYNCD_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// MySQLServerDSN is SYNCD_TEST_MYSQL_DSN or DefaultMySQLDSN.
func MySQLServerDSN() string {
	if d := os.Getenv("SYNCD_TEST_MYSQL_DSN"); d != "" {
		return d
	}
	return DefaultMySQLDSN
}

// DB is a fresh database with the schema applied.
type DB struct {
	Driver string // "mysql" or "sqlite"
	DSN    string // what syncd's database.dsn would be
	Store  *store.Store
	Raw    *sql.DB // a plain connection, for the test's own "legacy writer" SQL
}

// AllDialects are the databases syncd speaks: a store test runs on each.
var AllDialects = []string{"mysql", "postgres", "sqlite"}

// Dialects are MySQL and SQLite, for tests of what PostgreSQL does its own
// way (transactional DDL, no session time_zone variable; sql/postgres_test.go
// and the PostgreSQL cases beside them cover it).
var Dialects = []string{"mysql", "sqlite"}

// New creates the database for driver and applies the schema.
func New(t testing.TB, driver string) *DB {
	t.Helper()
	return newDB(t, driver, MySQLServerDSN())
}

// NewMySQLOn is New on the MySQL server of serverDSN (StartMariaDB).
func NewMySQLOn(t testing.TB, serverDSN string) *DB {
	t.Helper()
	return newDB(t, "mysql", serverDSN)
}

func newDB(t testing.TB, driver, serverDSN string) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var dsn string
	var raw *sql.DB
	switch driver {
	case "mysql":
		dsn = NewMySQLDatabaseOn(t, serverDSN)
		var err error
		raw, err = sql.Open("mysql", dsn)
		if err != nil {
			t.Fatalf("open %s: %v", dsn, err)
		}
	case "postgres":
		dsn = NewPostgresDatabase(t)
		var err error
		raw, err = sql.Open("pgx-qmark", dsn)
		if err != nil {
			t.Fatalf("open %s: %v", dsn, err)
		}
	case "sqlite":
		dsn = filepath.Join(t.TempDir(), "syncd.db")
	default:
		t.Fatalf("unknown driver %q", driver)
	}
	st, err := store.Open(ctx, driver, dsn, 16)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.ApplySchema(ctx); err != nil {
		t.Fatalf("apply schema: %v", err)
	}
	if raw == nil {
		raw = st.SQL() // SQLite: one pool, one writer
	} else {
		t.Cleanup(func() { raw.Close() })
	}
	return &DB{Driver: driver, DSN: dsn, Store: st, Raw: raw}
}

// NewMySQLDatabase creates an empty database and returns its DSN; it is
// dropped when the test ends.
func NewMySQLDatabase(t testing.TB) string {
	t.Helper()
	return NewMySQLDatabaseOn(t, MySQLServerDSN())
}

// NewMySQLDatabaseOn is NewMySQLDatabase on the server of serverDSN.
func NewMySQLDatabaseOn(t testing.TB, serverDSN string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(serverDSN)
	if err != nil {
		t.Fatalf("parse MySQL DSN %q: %v", serverDSN, err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("open mysql: %v", err)
	}
	defer admin.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "syncd_t_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("create database (is MariaDB running on %s?): %v", cfg.Addr, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("mysql", cfg.FormatDSN())
		if err == nil {
			_, _ = a.Exec("DROP DATABASE IF EXISTS " + name)
			a.Close()
		}
	})
	cfg.DBName = name
	cfg.ParseTime = true
	return cfg.FormatDSN()
}

// WriterAt opens a pool like a legacy writer's whose sessions run at
// time_zone offset ("+08:00"); like a writer set up for that zone, its
// driver also formats time.Time arguments in it. MySQL only: SQLite has
// no session zone.
func (d *DB) WriterAt(t testing.TB, offset string) *sql.DB {
	t.Helper()
	at, err := time.Parse("-07:00", offset)
	if err != nil {
		t.Fatalf("writer zone %q: %v", offset, err)
	}
	_, secs := at.Zone()
	cfg, err := mysql.ParseDSN(d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Loc = time.FixedZone(offset, secs)
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'" + offset + "'"
	return OpenMySQL(t, cfg)
}

// OpenMySQL opens a pool on cfg, closed when the test ends. Unlike a DSN,
// a Config keeps a Loc that is no named zone.
func OpenMySQL(t testing.TB, cfg *mysql.Config) *sql.DB {
	t.Helper()
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

// Insert adds a row as a legacy writer would and returns its id.
func (d *DB) Insert(t testing.TB, key, body string) int64 {
	t.Helper()
	const q = `INSERT INTO message_sync (conversation_key, body) VALUES (?, ?)`
	if d.Driver == "postgres" { // no LastInsertId: the id comes back as a row
		var id int64
		if err := d.Raw.QueryRow(q+` RETURNING id`, key, body).Scan(&id); err != nil {
			t.Fatalf("insert row: %v", err)
		}
		return id
	}
	res, err := d.Raw.Exec(q, key, body)
	if err != nil {
		t.Fatalf("insert row: %v", err)
	}
	id, _ := res.LastInsertId()
	return id
}

// InsertIn adds rows of one conversation in tx, as a legacy writer whose
// transaction stays open, and returns their ids.
// MySQL only; (*DB).InsertIn works on every dialect.
func InsertIn(t testing.TB, tx *sql.Tx, key string, bodies ...string) []int64 {
	t.Helper()
	return insertIn(t, false, tx, key, bodies...)
}

// InsertIn is the package's InsertIn in a transaction of d.Raw.
func (d *DB) InsertIn(t testing.TB, tx *sql.Tx, key string, bodies ...string) []int64 {
	t.Helper()
	return insertIn(t, d.Driver == "postgres", tx, key, bodies...)
}

func insertIn(t testing.TB, returning bool, tx *sql.Tx, key string, bodies ...string) []int64 {
	t.Helper()
	const q = `INSERT INTO message_sync (conversation_key, body) VALUES (?, ?)`
	var ids []int64
	for _, body := range bodies {
		var id int64
		if returning {
			if err := tx.QueryRow(q+` RETURNING id`, key, body).Scan(&id); err != nil {
				t.Fatalf("insert row in a transaction: %v", err)
			}
		} else {
			res, err := tx.Exec(q, key, body)
			if err != nil {
				t.Fatalf("insert row in a transaction: %v", err)
			}
			id, _ = res.LastInsertId()
		}
		ids = append(ids, id)
	}
	return ids
}

// HistorySources lists the message_sync ids of a conversation's history,
// by seq.
func HistorySources(t testing.TB, db *sql.DB, key string) []int64 {
	t.Helper()
	rows, err := db.Query(`SELECT source_id FROM chat_messages WHERE conversation_key = ? AND source_table = 'message_sync' ORDER BY seq`, key)
	if err != nil {
		t.Fatalf("read history of %s: %v", key, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatalf("read history of %s: %v", key, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read history of %s: %v", key, err)
	}
	return ids
}

// KeyTables are the tables with a conversation_key column.
var KeyTables = []string{"message_sync", "conversations", "chat_messages", "message_reply", "console_reads"}

// SetKeyCollation gives every conversation_key column of a MySQL database
// another collation, as a DBA may (utf8mb4_unicode_ci is what legacy
// databases have by default; utf8mb4_bin pads like MySQL 5.7's only
// binary collation).
func (d *DB) SetKeyCollation(t testing.TB, collation string) {
	t.Helper()
	if d.Driver != "mysql" {
		t.Fatalf("SetKeyCollation on %s", d.Driver)
	}
	for _, table := range KeyTables {
		if _, err := d.Raw.Exec(`ALTER TABLE ` + table + ` MODIFY conversation_key VARCHAR(191) CHARACTER SET utf8mb4 COLLATE ` + collation + ` NOT NULL`); err != nil {
			t.Fatalf("set %s.conversation_key to %s: %v", table, collation, err)
		}
	}
}

// DefaultPostgresDSN is the machine's PostgreSQL (trust auth).
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresServerDSN is SYNCD_TEST_POSTGRES_DSN or DefaultPostgresDSN.
func PostgresServerDSN() string {
	if d := os.Getenv("SYNCD_TEST_POSTGRES_DSN"); d != "" {
		return d
	}
	return DefaultPostgresDSN
}

// NewPostgresDatabase creates an empty database on the PostgreSQL server
// and returns its URL; it is dropped when the test ends.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	server, err := url.Parse(PostgresServerDSN())
	if err != nil {
		t.Fatalf("parse PostgreSQL DSN: %v", err)
	}
	admin, err := sql.Open("pgx", server.String())
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "syncd_t_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name + " ENCODING 'UTF8'"); err != nil {
		t.Fatalf("create database (is PostgreSQL running on %s?): %v", server.Host, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", server.String())
		if err == nil {
			_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	db := *server
	db.Path = "/" + name
	return db.String()
}
