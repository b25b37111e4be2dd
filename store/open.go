package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/syncd-dev/syncd/internal/dbtime"
	schema "github.com/syncd-dev/syncd/sql"
)

// Store is the gorm-backed database of one syncd instance.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect string   // schema.MySQL or schema.SQLite
	cursors sync.Map // Shard → the bucket its next claim starts at
}

// Open connects to the database. For MySQL it forces UTC (time_zone
// '+00:00' on every session, whatever the server's global zone, so the
// contract tables' TIMESTAMP columns are read and bound in UTC; see
// sql/mysql/0005_time_zones.sql), parsed times, client-side parameter
// interpolation (one round trip a statement) and READ COMMITTED, so that a
// claim never gap-locks the legacy writers' inserts.
func Open(ctx context.Context, driverName, dsn string, maxOpen int) (*Store, error) {
	var dialector gorm.Dialector
	switch driverName {
	case schema.MySQL:
		cfg, err := gomysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("parse database.dsn: %w", err)
		}
		cfg.ParseTime = true
		cfg.Loc = time.UTC
		cfg.InterpolateParams = true
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		cfg.Params["time_zone"] = "'+00:00'"
		if cfg.Timeout == 0 {
			cfg.Timeout = 5 * time.Second
		}
		isoVar, err := isolationVariable(ctx, cfg)
		if err != nil {
			return nil, err
		}
		cfg.Params[isoVar] = "'READ-COMMITTED'"
		dialector = mysql.New(mysql.Config{DSN: cfg.FormatDSN()})
	case schema.SQLite:
		dialector = sqlite.Open(sqliteDSN(dsn))
	default:
		return nil, fmt.Errorf("open database: unknown driver %q", driverName)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Default.LogMode(logger.Silent),
		SkipDefaultTransaction: true,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driverName, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driverName, err)
	}
	if driverName == schema.SQLite {
		// One connection: SQLite has one writer anyway, and a single
		// connection turns lock contention into Go-side queueing.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(maxOpen)
		sqlDB.SetMaxIdleConns(maxOpen)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	return &Store{db: db, sqlDB: sqlDB, dialect: driverName}, nil
}

// isolationVariable finds the name of the session isolation variable:
// MySQL 8 knows only transaction_isolation, MariaDB before 11.1 only
// tx_isolation.
func isolationVariable(ctx context.Context, cfg *gomysql.Config) (string, error) {
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		return "", fmt.Errorf("open mysql database: %w", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, `SELECT @@transaction_isolation`).Scan(&v); err == nil {
		return "transaction_isolation", nil
	}
	if err := db.QueryRowContext(ctx, `SELECT @@tx_isolation`).Scan(&v); err != nil {
		return "", fmt.Errorf("connect to mysql database: %w", err)
	}
	return "tx_isolation", nil
}

func sqliteDSN(path string) string {
	if strings.Contains(path, "?") {
		return path
	}
	return path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
}

// Dialect is schema.MySQL or schema.SQLite.
func (s *Store) Dialect() string { return s.dialect }

// Gorm exposes the handle for packages that keep their own tables (the
// console's store); the relay's statements stay in this package.
func (s *Store) Gorm() *gorm.DB { return s.db }

// SQL is the underlying pool, for schema migrations.
func (s *Store) SQL() *sql.DB { return s.sqlDB }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	var one int
	if err := s.sqlDB.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error { return s.sqlDB.Close() }

// ApplySchema runs the migrations this binary carries.
func (s *Store) ApplySchema(ctx context.Context) ([]schema.Migration, error) {
	return schema.Apply(ctx, s.sqlDB, s.dialect)
}

// CheckSchema fails, saying what to run, when migrations are missing.
func (s *Store) CheckSchema(ctx context.Context) error {
	return schema.Check(ctx, s.sqlDB, s.dialect)
}

// ts binds a time the way each dialect compares it.
func (s *Store) ts(t time.Time) any { return dbtime.Arg(s.dialect == schema.SQLite, t) }

type dbTime = dbtime.Time

type writerTime = dbtime.WriterTime

var _ driver.Valuer = (*nullString)(nil)

// nullString binds "" as NULL.
type nullString string

func (n nullString) Value() (driver.Value, error) {
	if n == "" {
		return nil, nil
	}
	return string(n), nil
}
