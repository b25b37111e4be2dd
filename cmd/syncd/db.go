package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/urfave/cli/v2"
	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/config"
	schema "github.com/syncd-dev/syncd/sql"
	"github.com/syncd-dev/syncd/store"
)

// openStore connects to the configured database for a command. SQLite, the
// embedded default, gets its schema applied at once; MySQL must already be
// at this binary's schema (a DBA applies it), or the command stops and says
// what to run. An error retrying cannot cure (credentials, grants, a
// missing database, a file syncd may not write) says what to check. A
// SQLite file that does not exist is not created: a command run in another
// folder would write to a fresh database that no daemon reads.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	if err := sqliteExists(cfg); err != nil {
		return nil, err
	}
	return openOrCreateStore(ctx, cfg)
}

// openOrCreateStore is openStore that creates a missing SQLite database:
// for `syncd run`.
func openOrCreateStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	octx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := store.Open(octx, cfg.Database.Driver, cfg.Database.DSN, cfg.Database.MaxOpenConns, store.HoldLimit(holdLimit(cfg)))
	if err != nil {
		return nil, explainDB(err)
	}
	if err := prepareSchema(octx, st); err != nil {
		st.Close()
		return nil, explainDB(err)
	}
	st.SetRowLimits(store.RowLimits{MaxBodyBytes: cfg.Relay.MaxBodyBytes, MaxPayloadBytes: cfg.Relay.MaxPayloadBytes})
	return st, nil
}

// holdLimit is how long a session may hold a transaction open while idle,
// or wait for a row lock (store.HoldLimit): with Redis, the shard lock's
// lifetime, after which a frozen holder has lost its shards; with
// in-process locks, the claim lease.
func holdLimit(cfg config.Config) time.Duration {
	if cfg.Redis.Enabled() {
		return cfg.Redis.LockTTL
	}
	return cfg.Poller.Lease
}

func prepareSchema(ctx context.Context, st *store.Store) error {
	if st.Dialect() == schema.SQLite {
		if _, err := st.ApplySchema(ctx); err != nil {
			return fmt.Errorf("apply schema to SQLite database: %w", err)
		}
		return nil
	}
	return st.CheckSchema(ctx)
}

// openDatabase is the gorm handle for commands that work on the console's
// tables (agents). The returned func closes it.
func openDatabase(c *cli.Context) (*gorm.DB, func(), error) {
	cfg, _, err := loadConfig(c)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(c.Context, cfg)
	if err != nil {
		return nil, nil, err
	}
	return st.Gorm(), func() { st.Close() }, nil
}

// permanentError is an error that retrying cannot cure, with what the
// operator should check.
type permanentError struct {
	err  error
	hint string
}

func (e *permanentError) Error() string {
	return strings.TrimSuffix(e.err.Error(), ".") + "; " + e.hint
}
func (e *permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var pe *permanentError
	return errors.As(err, &pe)
}

// explain adds what to check to err when classify calls it permanent.
func explain(err error, classify func(error) (string, bool)) error {
	if err == nil || isPermanent(err) {
		return err
	}
	if hint, ok := classify(err); ok {
		return &permanentError{err: err, hint: hint}
	}
	return err
}

// explainDB is explain for database errors.
func explainDB(err error) error { return explain(err, store.Permanent) }

// sqlitePath is the file of a SQLite database.dsn, "" for an in-memory one.
func sqlitePath(dsn string) string {
	p, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if p == "" || p == ":memory:" || strings.HasPrefix(p, ":memory:") {
		return ""
	}
	return p
}

// sqliteExists fails, naming the file and what to do, when database.dsn
// names a SQLite file that is not there.
func sqliteExists(cfg config.Config) error {
	if cfg.Database.Driver != schema.SQLite {
		return nil
	}
	p := sqlitePath(cfg.Database.DSN)
	if p == "" {
		return nil
	}
	if _, err := os.Stat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil // another problem is for the open to report
	}
	return cli.Exit(fmt.Sprintf("no SQLite database at %s (database.dsn %q): `syncd run` creates it. "+
		"Run this command in the folder where syncd runs, or give it the daemon's configuration (--config, SYNCD_DATABASE_DSN)",
		absPath(p), cfg.Database.DSN), 1)
}

// describeDatabase names the database a command works on, for its output.
func describeDatabase(cfg config.Config) string {
	if cfg.Database.Driver == schema.SQLite {
		if p := sqlitePath(cfg.Database.DSN); p != "" {
			return "SQLite " + absPath(p)
		}
		return "SQLite in memory"
	}
	if cfg.Database.Driver == schema.Postgres {
		if c, err := pgx.ParseConfig(cfg.Database.DSN); err == nil {
			return fmt.Sprintf("PostgreSQL database %s on %s:%d", c.Database, c.Host, c.Port)
		}
		return "PostgreSQL"
	}
	if c, err := mysql.ParseDSN(cfg.Database.DSN); err == nil {
		return fmt.Sprintf("MySQL database %s on %s", c.DBName, c.Addr)
	}
	return "MySQL"
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
