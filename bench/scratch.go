package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/redis/go-redis/v9"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/internal/dialect"
	schema "github.com/syncd-dev/syncd/sql"
	"github.com/syncd-dev/syncd/store"
)

// Config describes a benchmark run. Zero values mean the defaults in
// brackets, which are those of `syncd bench relay`.
type Config struct {
	// DSN names the MariaDB/MySQL server (go-sql-driver form) or the
	// PostgreSQL server (postgres://…); its database part is ignored: the
	// run creates its own. [root@tcp(127.0.0.1:3306)/test?parseTime=true]
	DSN string
	// Redis is the address of the Redis that holds the shard locks, under a
	// random key prefix. [127.0.0.1:6379]
	Redis string

	Rows          int // backlog size of the main runs [100000]
	Conversations int // conversations the backlog is spread over, round robin [1000]
	BodyBytes     int // length of every body, 1 to 65536 [200]

	Instances int // syncd instances relaying at once [3]
	// The pollers' settings; zero means syncd's own default (config.Default).
	BatchSize int    // rows per claim [500]
	Shards    int    // shard count, a divisor of store.Buckets [16]
	Workers   int    // shards relayed at once per instance [2]
	Schedule  string // poller schedule [@every 1s]

	// NaiveInstances naive pollers run at once on a backlog of NaiveRows
	// in the extra step that counts double relays; negative skips it.
	// [2 on 5000 rows]
	NaiveInstances int
	NaiveRows      int
	// SyncdOnly skips every naive and baseline run, for profiling syncd
	// alone.
	SyncdOnly bool
	// NoBaselines skips the claim loops (Loop and LoopHistory, each with 1
	// and 3 claimers) that otherwise run after syncd on the same backlog.
	NoBaselines bool
	// ExpiredRows sent rows processed three days ago are in message_sync
	// beside the backlog, and with Purge a retention pass (sent rows kept
	// 24h) deletes them while syncd relays: relay throughput during a
	// purge, against the same table without one. [0]
	ExpiredRows int
	Purge       bool
	// Bot, when set, assesses every batch as the intent bot does in
	// production; nil relays without a bot.
	Bot bridge.Bot

	// Timeout bounds each relay run; a run still draining after it fails.
	// [30m]
	Timeout time.Duration
	// Keep leaves the scratch database in place (it then holds the last
	// run's tables) instead of dropping it.
	Keep bool

	// Logger receives the pollers' logs. [slog.Default()]
	Logger *slog.Logger
	// Progress, when set, gets a line as each step starts.
	Progress io.Writer
	// CPUProfile, when set, receives a CPU profile of this process taken
	// while the syncd instances relay the main backlog.
	CPUProfile io.Writer
}

// Defaults of Config.
const (
	DefaultDSN     = "root@tcp(127.0.0.1:3306)/test?parseTime=true"
	DefaultRedis   = "127.0.0.1:6379"
	DefaultTimeout = 30 * time.Minute
)

// withDefaults fills zero fields and checks the result, naming the field
// at fault.
func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.DSN == "" {
		c.DSN = DefaultDSN
	}
	if c.Redis == "" {
		c.Redis = DefaultRedis
	}
	def(&c.Rows, 100000)
	def(&c.Conversations, 1000)
	def(&c.BodyBytes, 200)
	def(&c.Instances, 3)
	d := config.Default().Poller
	def(&c.BatchSize, d.BatchSize)
	def(&c.Shards, d.Shards)
	def(&c.Workers, d.Workers)
	def(&c.NaiveInstances, 2)
	def(&c.NaiveRows, 5000)
	if c.Schedule == "" {
		c.Schedule = d.Schedule
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	positive := []struct {
		name string
		v    int
	}{
		{"rows", c.Rows}, {"conversations", c.Conversations}, {"body-bytes", c.BodyBytes},
		{"instances", c.Instances}, {"batch", c.BatchSize}, {"shards", c.Shards}, {"workers", c.Workers},
		{"naive-rows", c.NaiveRows},
	}
	for _, p := range positive {
		if p.v < 0 {
			return c, fmt.Errorf("bench: %s must be positive, got %d", p.name, p.v)
		}
	}
	if c.BodyBytes > 64<<10 {
		// The bridge fails longer bodies (relay.max_body_bytes).
		return c, fmt.Errorf("bench: body-bytes must be at most %d, got %d", 64<<10, c.BodyBytes)
	}
	if c.Shards > store.Buckets || store.Buckets%c.Shards != 0 {
		return c, fmt.Errorf("bench: shards must divide %d, got %d", store.Buckets, c.Shards)
	}
	if dialectOf(c.DSN) == schema.Postgres {
		if _, err := pgx.ParseConfig(c.DSN); err != nil {
			return c, fmt.Errorf("bench: dsn: %w", err)
		}
		return c, nil
	}
	if _, err := mysql.ParseDSN(c.DSN); err != nil {
		return c, fmt.Errorf("bench: dsn: %w", err)
	}
	return c, nil
}

// dialectOf is PostgreSQL for a postgres:// URL, MySQL otherwise.
func dialectOf(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return schema.Postgres
	}
	return schema.MySQL
}

// Scratch is a scratch database with syncd's schema, on the server of
// Config.DSN, plus a Redis key prefix nobody else uses.
type Scratch struct {
	cfg      Config
	dialect  string // schema.MySQL or schema.Postgres
	Name     string // the database, syncd_bench_<random>
	Server   string // the server's product and version
	dsn      string // of the scratch database, as syncd's database.dsn
	admin    *sql.DB
	db       *sql.DB // seeding, counting and the naive pollers' statements
	redis    *redis.Client
	prefix   string // Redis key prefix of the shard locks
	progress io.Writer
}

// Open creates the scratch database, applies the schema with
// store.ApplySchema and adds naive_chat_messages: chat_messages without
// its unique keys, which the naive pollers write, so that a double relay
// shows instead of failing.
func Open(ctx context.Context, cfg Config) (*Scratch, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Scratch{cfg: cfg, dialect: dialectOf(cfg.DSN), progress: cfg.Progress, Name: "syncd_bench_" + randomHex(6)}
	if s.progress == nil {
		s.progress = io.Discard
	}
	var scratchDSN, driverName string
	switch s.dialect {
	case schema.Postgres:
		server, err := url.Parse(cfg.DSN)
		if err != nil {
			return nil, fmt.Errorf("bench: dsn: %w", err)
		}
		if s.admin, err = sql.Open("pgx", server.String()); err != nil {
			return nil, fmt.Errorf("open database server: %w", err)
		}
		if err := s.admin.QueryRowContext(ctx, `SELECT 'PostgreSQL ' || current_setting('server_version')`).Scan(&s.Server); err != nil {
			s.admin.Close()
			return nil, fmt.Errorf("connect to database server %s: %w", server.Host, err)
		}
		if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+s.Name+" ENCODING 'UTF8'"); err != nil {
			s.admin.Close()
			return nil, fmt.Errorf("create scratch database: %w", err)
		}
		server.Path = "/" + s.Name
		scratchDSN, driverName = server.String(), "pgx"
	default:
		server, _ := mysql.ParseDSN(cfg.DSN)
		server.ParseTime = true
		server.InterpolateParams = true
		// The naive pollers write Go's UTC times into TIMESTAMP columns and
		// compare them with the database's: at the server's zone (not always
		// UTC) they would be hours off. syncd's own store forces the same.
		if server.Params == nil {
			server.Params = map[string]string{}
		}
		server.Params["time_zone"] = "'+00:00'"
		if s.admin, err = sql.Open("mysql", server.FormatDSN()); err != nil {
			return nil, fmt.Errorf("open database server: %w", err)
		}
		if err := s.admin.QueryRowContext(ctx, `SELECT CONCAT('MariaDB/MySQL ', VERSION())`).Scan(&s.Server); err != nil {
			s.admin.Close()
			return nil, fmt.Errorf("connect to database server %s: %w", server.Addr, err)
		}
		if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+s.Name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
			s.admin.Close()
			return nil, fmt.Errorf("create scratch database: %w", err)
		}
		server.DBName = s.Name
		scratchDSN, driverName = server.FormatDSN(), "mysql"
	}
	// From here on Close cleans up whatever exists.
	s.dsn = scratchDSN
	// sql.Open only checks the driver name, which is registered.
	s.db, _ = sql.Open(driverName, s.dsn)
	s.db.SetMaxIdleConns(4)
	if err := s.prepare(ctx); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// q is a statement of this package for the scratch database's driver.
func (s *Scratch) q(query string) string { return dialect.D(s.dialect).Rebind(query) }

func (s *Scratch) prepare(ctx context.Context) error {
	st, err := store.Open(ctx, s.dialect, s.dsn, 2)
	if err != nil {
		return err
	}
	_, err = st.ApplySchema(ctx)
	st.Close()
	if err != nil {
		return fmt.Errorf("apply schema to %s: %w", s.Name, err)
	}
	// The claim loop with history writes a copy of chat_messages with all
	// its keys: what a careful engineer's history table would have.
	if s.dialect == schema.Postgres {
		if _, err := s.db.ExecContext(ctx, `CREATE TABLE loop_chat_messages (LIKE chat_messages INCLUDING ALL)`); err != nil {
			return fmt.Errorf("create loop_chat_messages: %w", err)
		}
		// No naive pollers here (Run skips them: naive.go is MySQL's SQL),
		// so no naive_chat_messages.
		return s.connectRedis(ctx)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE loop_chat_messages LIKE chat_messages`); err != nil {
		return fmt.Errorf("create loop_chat_messages: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE naive_chat_messages LIKE chat_messages`); err != nil {
		return fmt.Errorf("create naive_chat_messages: %w", err)
	}
	// Same columns and as many indexes as chat_messages, but nothing
	// unique: a naive poller has no fence, and a duplicate must land.
	if _, err := s.db.ExecContext(ctx, `ALTER TABLE naive_chat_messages
DROP INDEX ux_chat_messages_source, DROP INDEX ux_chat_messages_seq,
ADD KEY ix_naive_source (source_table, source_id), ADD KEY ix_naive_seq (conversation_key, seq)`); err != nil {
		return fmt.Errorf("create naive_chat_messages: %w", err)
	}

	return s.connectRedis(ctx)
}

func (s *Scratch) connectRedis(ctx context.Context) error {
	s.redis = redis.NewClient(&redis.Options{Addr: s.cfg.Redis})
	if err := s.redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("connect to redis at %s: %w", s.cfg.Redis, err)
	}
	s.prefix = "syncd:bench:" + randomHex(6) + ":"
	return nil
}

// DSN is the scratch database's DSN.
func (s *Scratch) DSN() string { return s.dsn }

// Close drops the scratch database (unless Config.Keep) and the Redis keys
// under the run's prefix, and closes the connections. It does not depend on
// a context, so it cleans up after a cancelled run too.
func (s *Scratch) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	if s.redis != nil {
		if s.prefix != "" {
			errs = append(errs, deleteKeys(ctx, s.redis, s.prefix))
		}
		errs = append(errs, s.redis.Close())
	}
	if !s.cfg.Keep {
		drop := "DROP DATABASE IF EXISTS " + s.Name
		if s.dialect == schema.Postgres {
			drop += " WITH (FORCE)" // the pools of the instances may linger
		}
		if _, err := s.admin.ExecContext(ctx, drop); err != nil {
			errs = append(errs, fmt.Errorf("drop scratch database %s: %w", s.Name, err))
		}
	}
	errs = append(errs, s.admin.Close())
	return errors.Join(errs...)
}

func deleteKeys(ctx context.Context, rc *redis.Client, prefix string) error {
	iter := rc.Scan(ctx, 0, prefix+"*", 100).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("find bench lock keys: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	if err := rc.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("delete bench lock keys: %w", err)
	}
	return nil
}

// Reset empties the relay's tables, so that the next run starts as the
// first did (ids start at 1 again).
func (s *Scratch) Reset(ctx context.Context) error {
	if s.dialect == schema.Postgres {
		if _, err := s.db.ExecContext(ctx, "TRUNCATE TABLE message_sync, conversations, chat_messages, message_reply, loop_chat_messages RESTART IDENTITY"); err != nil {
			return fmt.Errorf("empty the relay's tables: %w", err)
		}
		return nil
	}
	for _, t := range []string{"message_sync", "conversations", "chat_messages", "message_reply", "naive_chat_messages", "loop_chat_messages"} {
		if _, err := s.db.ExecContext(ctx, "TRUNCATE TABLE "+t); err != nil {
			return fmt.Errorf("empty %s: %w", t, err)
		}
	}
	return nil
}

// seedChunk is the rows per INSERT: about 250 KB of statement at 200-byte
// bodies, well under max_allowed_packet.
const seedChunk = 1000

// Seed inserts a backlog of rows pending rows, spread round robin over
// Config.Conversations conversations, with multi-row INSERTs of the
// columns a legacy writer sets.
func (s *Scratch) Seed(ctx context.Context, rows int) error {
	fmt.Fprintf(s.progress, "seeding %d rows over %d conversations\n", rows, s.cfg.Conversations)
	var q strings.Builder
	args := make([]any, 0, 3*seedChunk)
	for start := 0; start < rows; start += seedChunk {
		n := min(seedChunk, rows-start)
		q.Reset()
		q.WriteString(`INSERT INTO message_sync (conversation_key, sender_name, body) VALUES `)
		args = args[:0]
		for i := start; i < start+n; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?)")
			conv := i % s.cfg.Conversations
			key := fmt.Sprintf("bench-conv-%06d", conv)
			args = append(args, key, fmt.Sprintf("customer %d", conv), body(i, s.cfg.BodyBytes))
		}
		if _, err := s.db.ExecContext(ctx, s.q(q.String()), args...); err != nil {
			return fmt.Errorf("seed backlog: %w", err)
		}
	}
	return nil
}

const filler = " Hello, I ordered a blue kettle last week and it has still not arrived; could you tell me where it is?"

// body is row i's message text, exactly n bytes of ASCII.
func body(i, n int) string {
	b := make([]byte, 0, n+len(filler))
	b = fmt.Appendf(b, "#%d", i)
	for len(b) < n {
		b = append(b, filler...)
	}
	return string(b[:n])
}

// pending reports whether any row is pending or processing. It asks for
// one row rather than COUNT(*), so that watching a large backlog costs the
// server next to nothing.
func (s *Scratch) pending(ctx context.Context) (bool, error) {
	var left bool
	err := s.db.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM message_sync WHERE status IN ('pending', 'processing'))`).Scan(&left)
	if err != nil {
		return false, fmt.Errorf("look for unrelayed rows: %w", err)
	}
	return left, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
