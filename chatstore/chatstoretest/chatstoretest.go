// Package chatstoretest gives tests a fresh console database: a new MariaDB
// database or SQLite file per test with the schema applied, dropped at
// cleanup, and a stand-in for the relay's write so that tests can create
// conversations the way the relay does.
package chatstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	mysqldrv "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/syncd-dev/syncd/chat"
	schema "github.com/syncd-dev/syncd/sql"
)

// DefaultMySQLDSN is used when SYNCD_TEST_MYSQL_DSN is not set.
const DefaultMySQLDSN = "root@tcp(127.0.0.1:3306)/test?parseTime=true&loc=UTC&multiStatements=false"

// Dialects lists the databases tests run on.
var Dialects = []string{schema.MySQL, schema.SQLite}

// Open returns a fresh database of the dialect.
func Open(t testing.TB, dialect string) *gorm.DB {
	t.Helper()
	if dialect == schema.MySQL {
		return MySQL(t)
	}
	return SQLite(t)
}

func gormConfig() *gorm.Config {
	return &gorm.Config{Logger: logger.Discard}
}

func suffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// MySQL creates database syncd_t_<random> on the test server, applies the
// schema and drops the database at cleanup.
func MySQL(t testing.TB) *gorm.DB {
	t.Helper()
	dsn := os.Getenv("SYNCD_TEST_MYSQL_DSN")
	if dsn == "" {
		dsn = DefaultMySQLDSN
	}
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("SYNCD_TEST_MYSQL_DSN: %v", err)
	}
	admin, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open mysql: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	name := "syncd_t_" + suffix()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("create test database (is MariaDB on %s?): %v", cfg.Addr, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE "+name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	db, err := gorm.Open(mysql.Open(cfg.FormatDSN()), gormConfig())
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	return apply(t, db, schema.MySQL)
}

// SQLite creates a database file in t.TempDir and applies the schema.
func SQLite(t testing.TB) *gorm.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "syncd.db")
	db, err := gorm.Open(sqlite.Open(path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"), gormConfig())
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	sdb, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sdb.SetMaxOpenConns(1)
	return apply(t, db, schema.SQLite)
}

func apply(t testing.TB, db *gorm.DB, dialect string) *gorm.DB {
	t.Helper()
	sdb, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := schema.Apply(ctx, sdb, dialect); err != nil {
		t.Fatalf("apply schema: %v", err)
	}
	return db
}

// Relay writes customer messages the way the relay does, without
// publishing them: it inserts message_sync rows marked sent, bumps
// conversations.last_seq with the relay's upsert and inserts the
// chat_messages rows, in one transaction. It returns the messages.
func Relay(t testing.TB, db *gorm.DB, key string, bodies ...string) []chat.Message {
	t.Helper()
	out, err := RelayErr(db, key, bodies...)
	if err != nil {
		t.Fatalf("relay stand-in: %v", err)
	}
	return out
}

// RelayErr is Relay for goroutines other than the test's.
func RelayErr(db *gorm.DB, key string, bodies ...string) ([]chat.Message, error) {
	sqlite := db.Dialector.Name() == "sqlite"
	now := time.Now().UTC()
	var at any = now
	if sqlite {
		at = now.Format("2006-01-02 15:04:05.000000")
	}
	var out []chat.Message
	err := db.Transaction(func(tx *gorm.DB) error {
		upsert := `INSERT INTO conversations (conversation_key, last_seq, state, last_message_at, waiting_since, updated_at)
VALUES (?, ?, 'open', ?, ?, ?)
ON DUPLICATE KEY UPDATE last_seq = last_seq + VALUES(last_seq), state = 'open',
  last_message_at = VALUES(last_message_at), waiting_since = COALESCE(waiting_since, VALUES(waiting_since)),
  updated_at = VALUES(updated_at)`
		if sqlite {
			upsert = `INSERT INTO conversations (conversation_key, last_seq, state, last_message_at, waiting_since, updated_at)
VALUES (?, ?, 'open', ?, ?, ?)
ON CONFLICT (conversation_key) DO UPDATE SET last_seq = last_seq + excluded.last_seq, state = 'open',
  last_message_at = excluded.last_message_at, waiting_since = COALESCE(waiting_since, excluded.waiting_since),
  updated_at = excluded.updated_at`
		}
		if err := tx.Exec(upsert, key, len(bodies), at, at, at).Error; err != nil {
			return err
		}
		var last int64
		if err := tx.Raw(`SELECT last_seq FROM conversations WHERE conversation_key = ?`, key).Row().Scan(&last); err != nil {
			return err
		}
		first := last - int64(len(bodies)) + 1
		for i, body := range bodies {
			res, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context,
				`INSERT INTO message_sync (conversation_key, body, sender_name, status, processed_at) VALUES (?, ?, 'customer', 'sent', ?)`, key, body, at)
			if err != nil {
				return err
			}
			srcID, _ := res.LastInsertId()
			seq := first + int64(i)
			res, err = tx.Statement.ConnPool.ExecContext(tx.Statement.Context,
				`INSERT INTO chat_messages (conversation_key, seq, sender_type, sender_name, kind, body, source_table, source_id, created_at)
VALUES (?, ?, 'customer', 'customer', 'message', ?, 'message_sync', ?, ?)`, key, seq, body, srcID, at)
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			out = append(out, chat.Message{ID: id, ConversationKey: key, Seq: seq, SenderType: chat.SenderCustomer,
				SenderName: "customer", Kind: chat.KindMessage, Body: body, SourceID: srcID, CreatedAt: now})
		}
		return nil
	})
	return out, err
}
