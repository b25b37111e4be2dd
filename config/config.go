// Package config loads syncd's settings: defaults, then an optional YAML
// file, then SYNCD_* environment variables, then validation. Every error
// names the key (and its variable) so an operator knows what to fix.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"gopkg.in/yaml.v3"

	"github.com/syncd-dev/syncd/internal/schedule"
)

// Config is the whole of syncd's configuration. configs/syncd.example.yaml
// documents every key; keep the two in step.
type Config struct {
	// Instance names this process in claims, locks and logs; empty: host-pid.
	Instance  string    `yaml:"instance"`
	Database  Database  `yaml:"database"`
	Redis     Redis     `yaml:"redis"`
	HTTP      HTTP      `yaml:"http"`
	Poller    Poller    `yaml:"poller"`
	Relay     Relay     `yaml:"relay"`
	Ingest    Ingest    `yaml:"ingest"`
	Console   Console   `yaml:"console"`
	Bot       Bot       `yaml:"bot"`
	Webhook   Webhook   `yaml:"webhook"`
	Retention Retention `yaml:"retention"`
	Log       Log       `yaml:"log"`
}

type Database struct {
	Driver       string `yaml:"driver"` // mysql, postgres or sqlite
	DSN          string `yaml:"dsn"`    // go-sql-driver DSN, postgres:// URL, or a SQLite file path
	MaxOpenConns int    `yaml:"max_open_conns"`
	// Notify: on PostgreSQL, message_sync's trigger sends NOTIFY and syncd
	// claims new rows at once instead of at the next poll.
	Notify bool `yaml:"notify"`
}

type Redis struct {
	Addr string `yaml:"addr"` // one server; empty (and no addrs): in-process locks and broker
	// Addrs are the Sentinels' addresses (with MasterName) or a Redis
	// Cluster's nodes (without), instead of Addr.
	Addrs            []string      `yaml:"addrs"`
	MasterName       string        `yaml:"master_name"` // Sentinel: the name of the master the Sentinels watch
	SentinelPassword string        `yaml:"sentinel_password"`
	Password         string        `yaml:"password"`
	DB               int           `yaml:"db"`
	LockTTL          time.Duration `yaml:"lock_ttl"`
	// Prefix starts every key and channel syncd uses, so that deployments
	// can share a Redis server (pub/sub ignores the db number).
	Prefix string `yaml:"prefix"`
}

type HTTP struct {
	Addr string `yaml:"addr"` // the console (and /healthz, /readyz)
	// AdminAddr serves /healthz, /readyz and /metrics on a listener of
	// their own, which a flood of the console's cannot reach; empty: none.
	AdminAddr string `yaml:"admin_addr"`
	// MetricsToken lets /metrics on Addr be read with
	// "Authorization: Bearer <token>"; without it only this machine may.
	MetricsToken      string        `yaml:"metrics_token"`
	MaxConns          int           `yaml:"max_conns"` // 0: from the open-files limit
	MaxConnsPerClient int           `yaml:"max_conns_per_client"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
}

type Poller struct {
	Schedule    string        `yaml:"schedule"`
	Shards      int           `yaml:"shards"`
	BatchSize   int           `yaml:"batch_size"`
	Workers     int           `yaml:"workers"`
	MaxAttempts int           `yaml:"max_attempts"`
	BackoffBase time.Duration `yaml:"backoff_base"`
	BackoffMax  time.Duration `yaml:"backoff_max"`
	Lease       time.Duration `yaml:"lease"`
	// FastInterval: how often to probe while busy or while an agent's
	// console is open on this instance; 0 turns adaptive polling off.
	FastInterval time.Duration `yaml:"fast_interval"`
	HotFor       time.Duration `yaml:"hot_for"` // how long "busy" lasts after work was found
}

// Retention says how long finished rows are kept; 0 keeps them forever
// (the default). One instance at a time deletes what is older, in small
// batches (poller/retention); rows in flight are never deleted.
type Retention struct {
	// SentRows: message_sync rows with status sent, by processed_at.
	SentRows time.Duration `yaml:"sent_rows"`
	// FailedRows: message_sync rows with status failed, by processed_at.
	FailedRows time.Duration `yaml:"failed_rows"`
	// RepliesDone: message_reply rows the legacy application marked done,
	// by done_at.
	RepliesDone time.Duration `yaml:"replies_done"`
	// History: chat_messages by created_at, then conversations left empty.
	// At least SentRows: the relay tells a sent row set back to pending by
	// its history entry.
	History time.Duration `yaml:"history"`
}

type Relay struct {
	MaxBodyBytes    int `yaml:"max_body_bytes"`
	MaxPayloadBytes int `yaml:"max_payload_bytes"`
}

// Ingest is the HTTP ingest API (/api/v1/messages, /api/v1/events) on
// http.addr, for keys that `syncd apikey add` makes.
type Ingest struct {
	Enabled bool `yaml:"enabled"` // false: /api/v1/ answers 404
	// Rate is what one key may send, in requests a second, on each
	// instance (a token bucket of Burst requests).
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
	// KeyCache is how long an instance trusts what it read of a key: a
	// revoked key is refused by every instance within this time.
	KeyCache time.Duration `yaml:"key_cache"`
}

type Console struct {
	SessionSecret  string        `yaml:"session_secret"`
	PublicURL      string        `yaml:"public_url"` // e.g. https://support.example.com
	AllowedOrigins []string      `yaml:"allowed_origins"`
	AllowedHosts   []string      `yaml:"allowed_hosts"`
	TrustedProxies []string      `yaml:"trusted_proxies"` // addresses or CIDRs
	SecureCookie   *bool         `yaml:"secure_cookie"`   // nil: on when PublicURL is https
	SessionTTL     time.Duration `yaml:"session_ttl"`
	SendQueueBytes int           `yaml:"send_queue_bytes"`
	SweepInterval  time.Duration `yaml:"sweep_interval"`
	Assignment     Assignment    `yaml:"assignment"`
	SLA            SLA           `yaml:"sla"`
}

// Assignment is auto-assignment: a conversation in which a customer waits
// and nobody holds goes to the online agent, not away, with the fewest
// open conversations below Capacity.
type Assignment struct {
	Enabled  bool `yaml:"enabled"`  // default off
	Capacity int  `yaml:"capacity"` // open conversations per agent; 0: 10
}

// SLA are the response-time targets; 0 turns one off. Admins may replace
// them in the console (stored in syncd_settings).
type SLA struct {
	FirstResponse time.Duration `yaml:"first_response"` // no agent has answered yet
	Reply         time.Duration `yaml:"reply"`          // after that; an assignee who misses it loses the conversation
}

type Bot struct {
	Enabled   bool    `yaml:"enabled"`
	Model     string  `yaml:"model"`     // empty: the model built into the binary
	Answers   string  `yaml:"answers"`   // empty: the answers built into the binary
	Threshold float64 `yaml:"threshold"` // 0: the answers file's threshold
	// SuggestThreshold is the floor below which agents see no suggestion;
	// 0: the answers file's (bot.DefaultSuggestThreshold when it sets none).
	SuggestThreshold float64 `yaml:"suggest_threshold"`
	CacheSize        int     `yaml:"cache_size"`
	Library          string  `yaml:"library"` // libonnxruntime.so; empty: SYNCD_ONNXRUNTIME_LIB, then the cache
}

type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Default is the embedded default: a SQLite file, in-process locks and a
// console on localhost.
func Default() Config {
	return Config{
		Database: Database{Driver: "sqlite", DSN: "syncd.db", MaxOpenConns: 16},
		Redis:    Redis{LockTTL: 8 * time.Second, Prefix: "syncd:"},
		HTTP: HTTP{Addr: "127.0.0.1:8080", MaxConnsPerClient: 256,
			ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second},
		Poller: Poller{
			Schedule: "@every 1s", Shards: 16, BatchSize: 500, Workers: 2, MaxAttempts: 8,
			BackoffBase: time.Second, BackoffMax: 5 * time.Minute, Lease: 30 * time.Second,
			FastInterval: 100 * time.Millisecond, HotFor: 30 * time.Second,
		},
		Relay:   Relay{MaxBodyBytes: 64 << 10, MaxPayloadBytes: 64 << 10},
		Ingest:  Ingest{Enabled: true, Rate: 50, Burst: 100, KeyCache: 2 * time.Second},
		Console: Console{SessionTTL: 12 * time.Hour, SendQueueBytes: 1 << 20, SweepInterval: 2 * time.Second},
		Bot:     Bot{Enabled: true, CacheSize: 10000},
		Webhook: defaultWebhook(),
		Log:     Log{Level: "info", Format: "text"},
	}
}

// Source says where the configuration came from, for the first log lines.
type Source struct {
	File    string            // "" when no file was read
	EnvKeys []string          // the SYNCD_* variables that were applied
	Unknown []UnknownVariable // SYNCD_* variables that are not settings
}

// Load builds the configuration from defaults, the YAML file at path (none
// when path is empty) and the environment, and validates it.
func Load(path string, environ []string) (Config, Source, error) {
	cfg, src, err := Parse(path, environ)
	if err != nil {
		return cfg, src, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, src, err
	}
	return cfg, src, nil
}

// Parse is Load without the validation, for a command that reads one or
// two keys and must not need the others (`syncd schema print` needs
// database.driver, not a DSN).
func Parse(path string, environ []string) (Config, Source, error) {
	cfg := Default()
	src := Source{File: path}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, src, fmt.Errorf("read config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)                                               // a misspelt key is an error, not a silent default
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
			return cfg, src, fmt.Errorf("config file %s: %w", path, nameKeys(raw, err))
		}
	}
	applied, warnings, err := applyEnv(&cfg, environ)
	src.Unknown = warnings
	if err != nil {
		return cfg, src, err
	}
	src.EnvKeys = applied
	return cfg, src, nil
}

// nameKeys rewrites yaml's "line N: cannot unmarshal …" and "line N: field
// x not found …" messages to name the dotted key on that line, which is
// what an operator looks for; other errors pass through.
func nameKeys(raw []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	var root yaml.Node
	if yaml.Unmarshal(raw, &root) != nil {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = m
		var line int
		if _, serr := fmt.Sscanf(m, "line %d:", &line); serr != nil {
			continue
		}
		// A map or list where a value belongs is reported on the line of
		// its first entry: the key at fault is the one that holds it.
		container := strings.Contains(m, "cannot unmarshal !!map") || strings.Contains(m, "cannot unmarshal !!seq")
		if key := keyOnLine(&root, "", line, container); key != "" {
			msg := strings.TrimSpace(strings.SplitN(m, ":", 2)[1])
			if strings.HasPrefix(msg, "field ") && strings.Contains(msg, " not found in type ") {
				msg = "unknown key"
				if s := closest(key, Keys()); s != "" {
					msg += "; did you mean " + s + "?"
				}
			}
			if n, ok := bareDuration(msg); ok {
				msg = fmt.Sprintf("a duration needs a unit: write %ss (or ms, m, h), not %s", n, n)
			}
			msgs[i] = fmt.Sprintf("key %s (line %d): %s", key, line, msg)
		}
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// bareDuration recognises yaml's message for a number where a duration
// belongs ("cannot unmarshal !!int `8` into time.Duration") and returns
// the number.
func bareDuration(msg string) (string, bool) {
	rest, ok := strings.CutPrefix(msg, "cannot unmarshal !!")
	if !ok || !strings.HasSuffix(rest, " into time.Duration") {
		return "", false
	}
	kind, rest, _ := strings.Cut(rest, " ")
	if kind != "int" && kind != "float" {
		return "", false
	}
	return strings.Trim(strings.TrimSuffix(rest, " into time.Duration"), "`"), true
}

// keyOnLine returns the dotted path of the deepest mapping key whose key or
// value is on line; with container, of the deepest key whose value is a map
// or list that starts on line.
func keyOnLine(n *yaml.Node, prefix string, line int, container bool) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if k := keyOnLine(c, prefix, line, container); k != "" {
				return k
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			if deeper := keyOnLine(v, path, line, container); deeper != "" {
				return deeper
			}
			if container && v.Line == line && (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) {
				return path
			}
			if !container && (k.Line == line || v.Line == line) {
				return path
			}
		}
	}
	return ""
}

// KeyError is a configuration error about one key.
type KeyError struct {
	Key string // dotted YAML path, e.g. database.dsn
	Msg string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("config key %s (env %s): %s", e.Key, EnvName(e.Key), e.Msg)
}

// EnvName is the environment variable that overrides a dotted key.
func EnvName(key string) string {
	return "SYNCD_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Validate checks every key and returns the first problem found.
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	switch c.Database.Driver {
	case "mysql", "postgres", "sqlite":
	default:
		return bad("database.driver", "must be mysql, postgres or sqlite, not %q", c.Database.Driver)
	}
	if strings.TrimSpace(c.Database.DSN) == "" {
		return bad("database.dsn", "must not be empty")
	}
	if c.Database.Driver == "mysql" {
		// The driver's own parser: a DSN it refuses is a typo to fix, not
		// an outage to wait out.
		if _, err := mysql.ParseDSN(c.Database.DSN); err != nil {
			return bad("database.dsn", "%v; want the go-sql-driver form user:pass@tcp(host:3306)/db", err)
		}
	}
	if c.Database.Driver == "postgres" {
		if _, err := pgx.ParseConfig(c.Database.DSN); err != nil {
			return bad("database.dsn", "%v; want a URL postgres://user:pass@host:5432/db", err)
		}
	}
	if c.Database.Notify && c.Database.Driver != "postgres" {
		return bad("database.notify", "needs database.driver postgres (MySQL and SQLite have no NOTIFY: syncd polls)")
	}
	if c.Database.MaxOpenConns < 1 {
		return bad("database.max_open_conns", "must be at least 1")
	}
	if err := c.Redis.validate(); err != nil {
		return err
	}
	if strings.TrimSpace(c.Redis.Prefix) == "" {
		return bad("redis.prefix", "must not be empty")
	}
	if err := between("redis.lock_ttl", c.Redis.LockTTL, 500*time.Millisecond, time.Hour); err != nil {
		return err
	}
	if c.HTTP.Addr != "" && !strings.Contains(c.HTTP.Addr, ":") {
		return bad("http.addr", "want host:port, got %q", c.HTTP.Addr)
	}
	if err := c.HTTP.validate(); err != nil {
		return err
	}
	if err := c.Console.validate(); err != nil {
		return err
	}
	p := c.Poller
	if strings.TrimSpace(p.Schedule) == "" {
		return bad("poller.schedule", "must not be empty")
	}
	// The poller's own parser, so that a bad schedule stops syncd at load
	// rather than after it has started.
	if _, err := schedule.Parse(p.Schedule); err != nil {
		return bad("poller.schedule", "%v", err)
	}
	if p.Shards < 1 || p.Shards > 1024 || 1024%p.Shards != 0 {
		return bad("poller.shards", "must divide 1024 (1, 2, 4, … 1024), got %d", p.Shards)
	}
	if p.BatchSize < 1 || p.BatchSize > 5000 {
		return bad("poller.batch_size", "must be between 1 and 5000, got %d", p.BatchSize)
	}
	if p.Workers < 1 {
		return bad("poller.workers", "must be at least 1")
	}
	if p.MaxAttempts < 1 {
		return bad("poller.max_attempts", "must be at least 1")
	}
	if p.BackoffBase <= 0 {
		return bad("poller.backoff_base", "must be positive")
	}
	if p.BackoffMax < p.BackoffBase {
		return bad("poller.backoff_max", "must be at least poller.backoff_base")
	}
	if err := between("poller.backoff_max", p.BackoffMax, p.BackoffBase, maxBackoff); err != nil {
		return err
	}
	if err := between("poller.lease", p.Lease, time.Second, time.Hour); err != nil {
		return err
	}
	if p.FastInterval != 0 {
		if err := between("poller.fast_interval", p.FastInterval, 10*time.Millisecond, 10*time.Second); err != nil {
			return &KeyError{Key: "poller.fast_interval", Msg: err.(*KeyError).Msg + " (or 0: the schedule alone)"}
		}
	}
	if err := between("poller.hot_for", p.HotFor, time.Second, 24*time.Hour); err != nil {
		return err
	}
	if c.Relay.MaxBodyBytes < 1 {
		return bad("relay.max_body_bytes", "must be positive")
	}
	if c.Relay.MaxPayloadBytes < 1 {
		return bad("relay.max_payload_bytes", "must be positive")
	}
	if c.Ingest.Rate <= 0 {
		return bad("ingest.rate", "must be positive (requests a second per key)")
	}
	if c.Ingest.Burst < 1 {
		return bad("ingest.burst", "must be at least 1")
	}
	if err := between("ingest.key_cache", c.Ingest.KeyCache, 0, time.Minute); err != nil {
		return err
	}
	if err := between("console.session_ttl", c.Console.SessionTTL, time.Minute, maxSessionTTL); err != nil {
		return err
	}
	if c.Console.SendQueueBytes < 4096 {
		return bad("console.send_queue_bytes", "must be at least 4096")
	}
	if err := between("console.sweep_interval", c.Console.SweepInterval, time.Millisecond, time.Hour); err != nil {
		return err
	}
	if n := c.Console.Assignment.Capacity; n < 0 || n > 1000 {
		return bad("console.assignment.capacity", "must be between 1 and 1000 (0: 10), got %d", n)
	}
	for _, t := range []struct {
		key string
		d   time.Duration
	}{{"console.sla.first_response", c.Console.SLA.FirstResponse}, {"console.sla.reply", c.Console.SLA.Reply}} {
		if t.d != 0 {
			if err := between(t.key, t.d, time.Second, maxSLATarget); err != nil {
				return &KeyError{Key: t.key, Msg: err.(*KeyError).Msg + " (0 turns it off)"}
			}
		}
	}
	if s := c.Console.SessionSecret; s != "" && len(s) < 32 {
		return bad("console.session_secret", "must be at least 32 characters (or empty to generate one)")
	}
	if c.Bot.Threshold < 0 || c.Bot.Threshold > 1 {
		return bad("bot.threshold", "must be between 0 and 1")
	}
	if c.Bot.SuggestThreshold < 0 || c.Bot.SuggestThreshold > 1 {
		return bad("bot.suggest_threshold", "must be between 0 and 1")
	}
	if c.Bot.CacheSize < 0 {
		return bad("bot.cache_size", "must not be negative")
	}
	if err := c.Webhook.validate(); err != nil {
		return err
	}
	if err := c.Retention.validate(); err != nil {
		return err
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return bad("log.format", "must be text or json")
	}
	return nil
}

// Enabled reports whether syncd uses Redis (locks, fan-out, login
// limits) rather than in-process state.
func (r Redis) Enabled() bool { return r.Addr != "" || len(r.Addrs) > 0 }

// Mode says which kind of Redis the settings name: "" (none), "server",
// "sentinel" or "cluster".
func (r Redis) Mode() string {
	switch {
	case r.Addr != "":
		return "server"
	case len(r.Addrs) > 0 && r.MasterName != "":
		return "sentinel"
	case len(r.Addrs) > 0:
		return "cluster"
	}
	return ""
}

func (r Redis) validate() error {
	bad := func(key, format string, args ...any) error {
		return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if r.Addr != "" && !strings.Contains(r.Addr, ":") {
		return bad("redis.addr", "want host:port, got %q", r.Addr)
	}
	if r.Addr != "" && len(r.Addrs) > 0 {
		return bad("redis.addrs", "set redis.addr (one server) or redis.addrs (Sentinels or Cluster nodes), not both")
	}
	for _, a := range r.Addrs {
		if !strings.Contains(a, ":") {
			return bad("redis.addrs", "want host:port entries, got %q", a)
		}
	}
	if r.MasterName != "" && len(r.Addrs) == 0 {
		return bad("redis.master_name", "names a Sentinel master: list the Sentinels in redis.addrs")
	}
	if r.SentinelPassword != "" && r.MasterName == "" {
		return bad("redis.sentinel_password", "is for Sentinels: set redis.master_name and redis.addrs")
	}
	if r.Mode() == "cluster" && r.DB != 0 {
		return bad("redis.db", "Redis Cluster has database 0 only, got %d", r.DB)
	}
	if r.DB < 0 {
		return bad("redis.db", "must not be negative")
	}
	return nil
}

// Upper bounds for durations that become timestamps in the database (a
// retry's next_attempt_at, a session's expiry): a year of backoff would
// overflow the doubling and pass MariaDB's TIMESTAMP range (2038), and
// nobody means either.
const (
	maxBackoff    = 24 * time.Hour
	maxSessionTTL = 30 * 24 * time.Hour
	maxSLATarget  = 30 * 24 * time.Hour // chatcore.MaxSLATarget
)

// Retention bounds: an hour at least, so that no typo ("1m" for a month)
// deletes rows minutes after they were sent; ten years at most, so that a
// horizon stays inside every dialect's time range.
const (
	minRetention = time.Hour
	maxRetention = 10 * 365 * 24 * time.Hour
)

func (r Retention) validate() error {
	for _, k := range []struct {
		key string
		d   time.Duration
	}{
		{"retention.sent_rows", r.SentRows}, {"retention.failed_rows", r.FailedRows},
		{"retention.replies_done", r.RepliesDone}, {"retention.history", r.History},
	} {
		if k.d == 0 {
			continue // kept forever
		}
		if k.d < minRetention || k.d > maxRetention {
			return &KeyError{Key: k.key, Msg: fmt.Sprintf("must be 0 (keep forever) or between %s and %s, got %s",
				fmtDur(minRetention), fmtDur(maxRetention), fmtDur(k.d))}
		}
	}
	if r.History != 0 && (r.SentRows == 0 || r.History < r.SentRows) {
		// The relay recognises a sent row set back to pending by its
		// history entry; history kept for less than the row would let it
		// be relayed twice. Retention keeps such entries anyway, so a
		// shorter history would only be a promise it does not keep.
		return &KeyError{Key: "retention.history", Msg: fmt.Sprintf(
			"must be 0 or at least retention.sent_rows (%s, env %s), got %s: history tells the relay a sent row was relayed already",
			fmtDurOrForever(r.SentRows), EnvName("retention.sent_rows"), fmtDur(r.History))}
	}
	return nil
}

func fmtDurOrForever(d time.Duration) string {
	if d == 0 {
		return "0, forever"
	}
	return fmtDur(d)
}

// between checks that a duration lies in [lo, hi], naming the key and
// both bounds in the way a user writes them.
func between(key string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return &KeyError{Key: key, Msg: fmt.Sprintf("must be between %s and %s, got %s", fmtDur(lo), fmtDur(hi), fmtDur(d))}
	}
	return nil
}

// fmtDur writes whole hours as "24h" rather than time's "24h0m0s".
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
