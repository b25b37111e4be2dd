package chatstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/sqlbind"
)

var _ chatcore.Store = (*Store)(nil)

// Store implements chatcore.Store on a gorm database.
type Store struct {
	db      *gorm.DB
	sqlite  bool
	pg      bool // PostgreSQL
	suggest func(intent string, confidence float64, text string) string
}

// SetSuggester gives the store the bot's suggestion for a classified
// customer message, in the language of its text (the relay stores the intent, not the reply's text).
// Call it before the store is used; nil leaves stored suggestions only.
func (s *Store) SetSuggester(suggest func(intent string, confidence float64, text string) string) {
	s.suggest = suggest
}

// New returns a Store on db, whose dialect must be mysql (also MariaDB),
// postgres or sqlite. The schema must be applied (sql/schema.go).
func New(db *gorm.DB) (*Store, error) {
	switch name := db.Dialector.Name(); name {
	case "mysql":
		return &Store{db: db}, nil
	case "postgres":
		return &Store{db: db, pg: true}, nil
	case "sqlite":
		return &Store{db: db, sqlite: true}, nil
	default:
		return nil, fmt.Errorf("chatstore: unsupported database dialect %q", name)
	}
}

// at returns t as a query argument for the dialect.
func (s *Store) at(t time.Time) any { return dbtime.Arg(s.sqlite, t) }

// tx runs fn in a transaction: READ COMMITTED on MySQL, so that a check
// made after taking a row lock sees what others committed; on SQLite the
// connection's _txlock=immediate takes the write lock at BEGIN.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	db := s.db.WithContext(ctx)
	if s.sqlite {
		return db.Transaction(fn)
	}
	return db.Transaction(fn, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
}

// insert runs an INSERT in tx and returns the new row's id: the driver's
// LastInsertId, or on PostgreSQL, which has none, RETURNING id.
func insert(tx *gorm.DB, query string, args ...any) (int64, error) {
	if tx.Dialector.Name() == "postgres" {
		var id int64
		err := tx.Statement.ConnPool.QueryRowContext(tx.Statement.Context, sqlbind.Dollar(query)+" RETURNING id", args...).Scan(&id)
		return id, err
	}
	res, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// isDuplicate reports a unique-key violation.
func isDuplicate(err error) bool {
	var me *mysqldrv.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" // unique_violation
	}
	return errors.Is(err, gorm.ErrDuplicatedKey) || strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// isRetryable reports a deadlock or lock wait timeout (MySQL 1213, 1205;
// PostgreSQL 40P01, 55P03 from lock_timeout), after which the whole
// transaction may simply run again.
func isRetryable(err error) bool {
	var me *mysqldrv.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "55P03")
}
