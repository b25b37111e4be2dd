package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/dialect"
	schema "github.com/syncd-dev/syncd/sql"
)

// Store is the gorm-backed database of one syncd instance.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	d       dialect.D
	cursors sync.Map // Shard → the highest id its last claim took (dueIDs)
	limits  RowLimits
	// keepUndelivered: a webhook delivers replies, so retention keeps a
	// done reply until its delivery is settled (SetWebhookDelivery).
	keepUndelivered bool
	pg              *pgx.ConnConfig // PostgreSQL: for the listener's own connection
	readCap         string          // boundedRead's prefix
}

// Open connects to the database. For MySQL it forces UTC (time_zone
// '+00:00' on every session, whatever the server's global zone, so the
// contract tables' TIMESTAMP columns are read and bound in UTC; see
// sql/mysql/0005_time_zones.sql), parsed times, client-side parameter
// interpolation (one round trip a statement) and READ COMMITTED, so that a
// claim never gap-locks the legacy writers' inserts.
func Open(ctx context.Context, driverName, dsn string, maxOpen int, opts ...Option) (*Store, error) {
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	var dialector gorm.Dialector
	var maxIdleTime time.Duration
	var readCap string
	var pgCfg *pgx.ConnConfig
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
		srv, err := probeServer(ctx, cfg)
		if err != nil {
			return nil, err
		}
		cfg.Params[srv.isolationVar] = "'READ-COMMITTED'"
		maxIdleTime = o.holdLimits(cfg.Params, srv)
		if srv.idleTx && o.hold > 0 { // MariaDB 10.3+ has max_statement_time too
			readCap = fmt.Sprintf("SET STATEMENT max_statement_time = %d FOR ", int(math.Ceil(o.hold.Seconds())))
		}
		dialector = mysql.New(mysql.Config{DSN: cfg.FormatDSN()})
	case schema.Postgres:
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("parse database.dsn: %w; want postgres://user:pass@host:5432/db", err)
		}
		o.pgParams(cfg.RuntimeParams)
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = 5 * time.Second
		}
		if err := probePostgres(ctx, cfg); err != nil {
			return nil, err
		}
		dialector = postgres.New(postgres.Config{Conn: stdlib.OpenDB(*cfg)})
		pgCfg = cfg
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
		sqlDB.SetConnMaxIdleTime(maxIdleTime) // 0: no limit
	}
	return &Store{db: db, sqlDB: sqlDB, d: dialect.D(driverName), pg: pgCfg, readCap: readCap}, nil
}

// boundedRead caps a read statement of the poller's at HoldLimit on the
// server (MariaDB; elsewhere, and without HoldLimit, q as it is).
func (s *Store) boundedRead(q string) string { return s.readCap + q }

// server is what Open needs to know of a MySQL or MariaDB server.
type server struct {
	// isolationVar names the session isolation variable: MySQL 8 knows
	// only transaction_isolation, MariaDB before 11.1 only tx_isolation.
	isolationVar string
	// idleTx: the server has idle_transaction_timeout (MariaDB 10.3+).
	idleTx bool
}

func probeServer(ctx context.Context, cfg *gomysql.Config) (server, error) {
	var srv server
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		return srv, fmt.Errorf("open mysql database: %w", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, `SELECT @@transaction_isolation`).Scan(&v); err == nil {
		srv.isolationVar = "transaction_isolation"
	} else if err := db.QueryRowContext(ctx, `SELECT @@tx_isolation`).Scan(&v); err != nil {
		return srv, fmt.Errorf("connect to mysql database: %w", err)
	} else {
		srv.isolationVar = "tx_isolation"
	}
	srv.idleTx = db.QueryRowContext(ctx, `SELECT @@idle_transaction_timeout`).Scan(&v) == nil
	return srv, nil
}

// Option changes how Open connects.
type Option func(*openOptions)

type openOptions struct {
	hold time.Duration
}

// HoldLimit bounds, on MySQL and MariaDB, how long each of syncd's sessions
// may keep a transaction open while idle, wait for a row lock, or stall
// in the middle of a packet: syncd passes the shard lock's lifetime. A
// holder frozen in the middle of a transaction (a VM pause, a stop signal,
// a debugger) then has its transaction rolled back by the server once it
// has lost its lock, instead of holding row locks that the shard's next
// holder waits on for as long as it is frozen; and the next holder's
// take-back gives up a lock wait after that long and tries again, instead
// of after InnoDB's 50 s. Whole seconds, rounded up; variables set in the
// DSN win. SQLite ignores it: one process holds the file.
//
// MariaDB 10.3+ rolls back an idle transaction with idle_transaction_timeout.
// MySQL (8.0, 8.4) has no such variable; the nearest bound is wait_timeout,
// which closes any connection idle that long, in a transaction or not, so
// the pool also drops idle connections after half the limit, before the
// server does. The session's max_statement_time (MariaDB) and
// max_execution_time (MySQL, SELECT only) are left alone, as they would
// also stop an operator's long-running commands; but the poller's reads
// (the probe, the pick of due rows, the hold-back) are each capped at that
// long on MariaDB (boundedRead): a client that gives up on a statement at
// its deadline only closes its connection, and the server went on running
// it, for minutes at a million-row backlog, holding a read view that
// stopped purge, which made every later probe slower still.
func HoldLimit(d time.Duration) Option { return func(o *openOptions) { o.hold = d } }

// holdLimits adds the session variables of HoldLimit to a MySQL DSN's
// parameters and returns the pool's idle-connection limit (0: none).
func (o openOptions) holdLimits(params map[string]string, srv server) time.Duration {
	if o.hold <= 0 {
		return 0
	}
	secs := strconv.Itoa(int(math.Ceil(o.hold.Seconds())))
	set := func(name string) {
		if _, given := params[name]; !given {
			params[name] = secs
		}
	}
	set("innodb_lock_wait_timeout")
	set("net_read_timeout")
	set("net_write_timeout")
	if srv.idleTx {
		set("idle_transaction_timeout")
		return 0
	}
	set("wait_timeout")
	return o.hold / 2
}

// pgParams sets syncd's session settings on PostgreSQL, where the DSN
// does not give them: UTC (timestamptz is an instant either way; this is
// what text conversions and the logs show), READ COMMITTED (PostgreSQL's
// default, said so that a server configured otherwise does not change the
// claim's rules), custom plans (below), and HoldLimit's bounds: a transaction idle that long is
// ended by the server (idle_in_transaction_session_timeout, which
// PostgreSQL has had since 9.6) and a row lock wait gives up after it
// (lock_timeout). statement_timeout is left alone, as max_statement_time
// is on MariaDB.
func (o openOptions) pgParams(params map[string]string) {
	set := func(name, value string) {
		if _, given := params[name]; !given {
			params[name] = value
		}
	}
	set("timezone", "UTC")
	set("default_transaction_isolation", "read committed")
	set("application_name", "syncd") // what pg_stat_activity shows a DBA
	// pgx prepares every statement, and after five runs PostgreSQL may
	// keep a generic plan, chosen without the values. For the relay's
	// statements (a claim UPDATE by up to batch_size ids, the history
	// lookups by source id) the generic plan scanned every pending row, or
	// every history row, per batch: 2,000 rows/s against 12,600 on a
	// 100,000-row backlog (docs/benchmarks-relay.md). Plan with the values.
	set("plan_cache_mode", "force_custom_plan")
	if o.hold > 0 {
		ms := strconv.FormatInt(o.hold.Milliseconds(), 10)
		set("idle_in_transaction_session_timeout", ms)
		set("lock_timeout", ms)
	}
}

// probePostgres connects once, so that Open fails with the server's own
// error (a wrong password, a database that does not exist) and refuses a
// server older than the schema needs.
func probePostgres(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to postgres database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var num int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&num); err != nil {
		return fmt.Errorf("connect to postgres database: %w", err)
	}
	if num < 120000 {
		return fmt.Errorf("connect to postgres database: server version %d.%d; syncd needs PostgreSQL 12 or later (generated columns)", num/10000, num%10000)
	}
	return nil
}

func sqliteDSN(path string) string {
	if strings.Contains(path, "?") {
		return path
	}
	return path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
}

// Dialect is schema.MySQL, schema.Postgres or schema.SQLite.
func (s *Store) Dialect() string { return string(s.d) }

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
	return schema.Apply(ctx, s.sqlDB, string(s.d))
}

// CheckSchema fails, saying what to run, when migrations are missing.
func (s *Store) CheckSchema(ctx context.Context) error {
	return schema.Check(ctx, s.sqlDB, string(s.d))
}

type dbTime = dbtime.Time

type writerTime = dbtime.WriterTime
