package chatstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/internal/dialect"
)

var _ chatcore.DB = (*DB)(nil)

// DB implements chatcore.DB on a gorm database: the console's tables.
type DB struct {
	db      *gorm.DB
	d       dialect.D
	suggest func(intent string, confidence float64, text string) string
	recent  int64 // messages a search scans before the full-text index; 0: recentMessages
}

// SetSuggester gives the store the bot's suggestion for a classified
// customer message, in the language of its text (the relay stores the intent, not the reply's text).
// Call it before the store is used; nil leaves stored suggestions only.
func (s *DB) SetSuggester(suggest func(intent string, confidence float64, text string) string) {
	s.suggest = suggest
}

// New returns a DB on db, whose dialect must be mysql (also MariaDB),
// postgres or sqlite. The schema must be applied (sql/schema.go).
func New(db *gorm.DB) (*DB, error) {
	d, err := dialect.Of(db.Dialector.Name())
	if err != nil {
		return nil, fmt.Errorf("chatstore: %w", err)
	}
	return &DB{db: db, d: d}, nil
}

// at returns t as a query argument for the dialect.
func (s *DB) at(t time.Time) any { return s.d.Time(t) }

// tx runs fn in a transaction: READ COMMITTED on MySQL and PostgreSQL, so
// that a check made after taking a row lock sees what others committed;
// on SQLite the connection's _txlock=immediate takes the write lock at
// BEGIN.
func (s *DB) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn, s.d.TxOptions())
}

// insert runs an INSERT in tx and returns the new row's id.
func (s *DB) insert(tx *gorm.DB, query string, args ...any) (int64, error) {
	return s.d.InsertID(tx.Statement.Context, tx.Statement.ConnPool, query, args...)
}
