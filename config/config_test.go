package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDefaultIsValid(t *testing.T) {
	cfg, src, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.Driver != "sqlite" || cfg.Database.DSN != "syncd.db" || cfg.Redis.Addr != "" || cfg.HTTP.Addr != "127.0.0.1:8080" {
		t.Fatalf("embedded default changed: %+v", cfg)
	}
	if src.File != "" || len(src.EnvKeys) != 0 {
		t.Fatalf("source %+v", src)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("database:\n  driver: mysql\n  dsn: a@tcp(x:3306)/db\npoller:\n  lease: 10s\n"), 0o600)
	cfg, src, err := Load(path, []string{
		"SYNCD_DATABASE_DSN=root@tcp(127.0.0.1:3306)/test?parseTime=true",
		"SYNCD_REDIS_ADDR=127.0.0.1:6379",
		"SYNCD_HTTP_ADDR=0.0.0.0:9000",
		"SYNCD_POLLER_BATCH_SIZE=100",
		"SYNCD_CONSOLE_ALLOWED_ORIGINS=https://a.example, https://b.example",
		"SYNCD_BOT_ENABLED=false",
		"OTHER=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.Driver != "mysql" || cfg.Database.DSN != "root@tcp(127.0.0.1:3306)/test?parseTime=true" ||
		cfg.Redis.Addr != "127.0.0.1:6379" || cfg.HTTP.Addr != "0.0.0.0:9000" || cfg.Poller.BatchSize != 100 ||
		cfg.Poller.Lease != 10*time.Second || cfg.Bot.Enabled || len(cfg.Console.AllowedOrigins) != 2 {
		t.Fatalf("got %+v", cfg)
	}
	if len(src.EnvKeys) != 6 {
		t.Fatalf("applied %v", src.EnvKeys)
	}
}

func TestRetentionKeys(t *testing.T) {
	cfg, _, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Retention != (Retention{}) {
		t.Fatalf("retention keeps forever by default, got %+v", cfg.Retention)
	}
	cfg, _, err = Load("", []string{"SYNCD_RETENTION_SENT_ROWS=720h", "SYNCD_RETENTION_FAILED_ROWS=2160h",
		"SYNCD_RETENTION_REPLIES_DONE=168h", "SYNCD_RETENTION_HISTORY=720h"})
	if err != nil {
		t.Fatal(err)
	}
	want := Retention{SentRows: 720 * time.Hour, FailedRows: 2160 * time.Hour, RepliesDone: 168 * time.Hour, History: 720 * time.Hour}
	if cfg.Retention != want {
		t.Fatalf("got %+v, want %+v", cfg.Retention, want)
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		file string
		key  string
	}{
		{env: []string{"SYNCD_DATABASE_DRIVER=oracle"}, key: "database.driver"},
		{env: []string{"SYNCD_POLLER_SHARDS=7"}, key: "poller.shards"},
		{env: []string{"SYNCD_POLLER_BATCH_SIZE=lots"}, key: "poller.batch_size"},
		{env: []string{"SYNCD_POLLER_LEASE=forever"}, key: "poller.lease"},
		// Durations that become database timestamps are bounded: a year
		// of backoff passes TIMESTAMP's 2038 and overflowed the doubling.
		{env: []string{"SYNCD_POLLER_BACKOFF_MAX=8760h"}, key: "poller.backoff_max"},
		{env: []string{"SYNCD_POLLER_LEASE=48h"}, key: "poller.lease"},
		{env: []string{"SYNCD_REDIS_LOCK_TTL=2h"}, key: "redis.lock_ttl"},
		{env: []string{"SYNCD_CONSOLE_SESSION_TTL=9000h"}, key: "console.session_ttl"},
		{env: []string{"SYNCD_CONSOLE_SWEEP_INTERVAL=0s"}, key: "console.sweep_interval"},
		{env: []string{"SYNCD_DATABASE_DSN="}, key: "database.dsn"},
		{env: []string{"SYNCD_DATABASE_DRIVER=postgres"}, key: "database.dsn"}, // syncd.db is no URL
		{env: []string{"SYNCD_DATABASE_NOTIFY=true"}, key: "database.notify"},  // on SQLite
		{env: []string{"SYNCD_REDIS_ADDR=redis"}, key: "redis.addr"},
		{env: []string{"SYNCD_REDIS_ADDR=r:6379", "SYNCD_REDIS_ADDRS=s1:26379"}, key: "redis.addrs"},
		{env: []string{"SYNCD_REDIS_ADDRS=s1:26379,s2"}, key: "redis.addrs"},
		{env: []string{"SYNCD_REDIS_MASTER_NAME=mymaster"}, key: "redis.master_name"},
		{env: []string{"SYNCD_REDIS_ADDRS=n1:7000,n2:7000", "SYNCD_REDIS_DB=3"}, key: "redis.db"}, // a Cluster
		{env: []string{"SYNCD_REDIS_SENTINEL_PASSWORD=x"}, key: "redis.sentinel_password"},
		{env: []string{"SYNCD_BOT_THRESHOLD=2"}, key: "bot.threshold"},
		{env: []string{"SYNCD_CONSOLE_SESSION_SECRET=short"}, key: "console.session_secret"},
		{env: []string{"SYNCD_POLLER_SCHEDULE=bogus"}, key: "poller.schedule"},
		{env: []string{"SYNCD_HTTP_ADMIN_ADDR=9090"}, key: "http.admin_addr"},
		{env: []string{"SYNCD_HTTP_ADMIN_ADDR=127.0.0.1:8080"}, key: "http.admin_addr"},
		{env: []string{"SYNCD_HTTP_METRICS_TOKEN=short"}, key: "http.metrics_token"},
		{env: []string{"SYNCD_HTTP_MAX_CONNS_PER_CLIENT=0"}, key: "http.max_conns_per_client"},
		{env: []string{"SYNCD_HTTP_IDLE_TIMEOUT=0s"}, key: "http.idle_timeout"},
		{env: []string{"SYNCD_CONSOLE_PUBLIC_URL=support.example.com"}, key: "console.public_url"},
		{env: []string{"SYNCD_CONSOLE_PUBLIC_URL=https://x.example/console"}, key: "console.public_url"},
		{env: []string{"SYNCD_CONSOLE_TRUSTED_PROXIES=10.0.0.0/33"}, key: "console.trusted_proxies"},
		{env: []string{"SYNCD_CONSOLE_ALLOWED_HOSTS=https://x.example"}, key: "console.allowed_hosts"},
		{env: []string{"SYNCD_CONSOLE_SECURE_COOKIE=maybe"}, key: "console.secure_cookie"},
		{env: []string{"SYNCD_CONSOLE_ASSIGNMENT_CAPACITY=5000"}, key: "console.assignment.capacity"},
		{env: []string{"SYNCD_CONSOLE_ASSIGNMENT_ENABLED=sometimes"}, key: "console.assignment.enabled"},
		{env: []string{"SYNCD_CONSOLE_SLA_FIRST_RESPONSE=1ms"}, key: "console.sla.first_response"},
		{env: []string{"SYNCD_CONSOLE_SLA_REPLY=9000h"}, key: "console.sla.reply"},
		{env: []string{"SYNCD_CONSOLE_SLA_REPLY=-5m"}, key: "console.sla.reply"},
		{file: "console:\n  sla:\n    reply: soon\n", key: "key console.sla.reply (line 3): cannot unmarshal"},
		{env: []string{"SYNCD_RETENTION_SENT_ROWS=10m"}, key: "retention.sent_rows"},
		{env: []string{"SYNCD_RETENTION_FAILED_ROWS=-1h"}, key: "retention.failed_rows"},
		{env: []string{"SYNCD_RETENTION_REPLIES_DONE=900000h"}, key: "retention.replies_done"},
		{env: []string{"SYNCD_RETENTION_HISTORY=soon"}, key: "retention.history"},
		// History shorter than sent rows would let a sent row set back to
		// pending be relayed twice.
		{env: []string{"SYNCD_RETENTION_SENT_ROWS=720h", "SYNCD_RETENTION_HISTORY=240h"}, key: "retention.history"},
		{env: []string{"SYNCD_RETENTION_HISTORY=240h"}, key: "retention.history"},
		// internal/schedule has the table of specs; this is the key naming.
		{file: "poller:\n  schedule: '@every nonsense'\n", key: "poller.schedule (env SYNCD_POLLER_SCHEDULE)"},
		{file: "poller:\n  shedule: '@every 1s'\n", key: "key poller.shedule (line 2): unknown key"},
		{file: "poller:\n  schedule: '@every 1s'\n  shards: two\n", key: "key poller.shards (line 3): cannot unmarshal"},
		{file: "database:\n  driver: sqlite\nbot:\n  cache_size: [1]\n", key: "key bot.cache_size (line 4)"},
		{file: "database:\n  dsn:\n    host: x\n", key: "key database.dsn (line 3): cannot unmarshal !!map"},
	} {
		path := ""
		if tc.file != "" {
			path = filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tc.file), 0o600)
		}
		_, _, err := Load(path, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%v %q: error %v does not name %s", tc.env, tc.file, err, tc.key)
		}
		if ke := (*KeyError)(nil); errors.As(err, &ke) && !strings.Contains(err.Error(), "(env "+EnvName(ke.Key)+")") {
			t.Errorf("%v %q: error %v lacks the variable's name", tc.env, tc.file, err)
		}
		var ke *KeyError
		if tc.file == "" && !errors.As(err, &ke) {
			t.Errorf("%v: %T is not a *KeyError", tc.env, err)
		}
	}
}

// The example file documents every key, and only real keys.
func TestExampleDocumentsEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../configs/syncd.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	for _, key := range Keys() {
		var node any = tree
		for _, part := range strings.Split(key, ".") {
			m, ok := node.(map[string]any)
			if !ok {
				node = nil
				break
			}
			node, ok = m[part]
			if !ok {
				t.Errorf("configs/syncd.example.yaml lacks %s", key)
				break
			}
		}
	}
	if _, _, err := Load("../configs/syncd.example.yaml", nil); err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
}

// Behind a TLS proxy: the keys load from a file and the environment, the
// cookie is Secure by default when the public URL is https, and an explicit
// secure_cookie wins.
func TestProxyKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("console:\n  public_url: https://support.example.com\n  trusted_proxies: [10.0.0.5, 10.1.0.0/16, '::1']\n"), 0o600)
	cfg, _, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Console.Secure() {
		t.Error("https public_url: cookie not Secure by default")
	}
	ps, err := cfg.Console.Proxies()
	if err != nil || len(ps) != 3 || ps[0].String() != "10.0.0.5/32" || ps[1].String() != "10.1.0.0/16" || ps[2].String() != "::1/128" {
		t.Errorf("proxies %v, %v", ps, err)
	}
	os.WriteFile(path, []byte("console:\n  public_url: https://support.example.com\n  secure_cookie: false\n"), 0o600)
	if cfg, _, err = Load(path, nil); err != nil || cfg.Console.Secure() {
		t.Errorf("secure_cookie: false in the file: %v, secure %v", err, cfg.Console.Secure())
	}
	if cfg, _, err = Load("", []string{"SYNCD_CONSOLE_SECURE_COOKIE=true"}); err != nil || !cfg.Console.Secure() {
		t.Errorf("SYNCD_CONSOLE_SECURE_COOKIE=true: %v, secure %v", err, cfg.Console.Secure())
	}
	if cfg, _, err = Load("", nil); err != nil || cfg.Console.Secure() {
		t.Errorf("default: %v, secure %v", err, cfg.Console.Secure())
	}
}

func TestDurationBoundsSayBoth(t *testing.T) {
	_, _, err := Load("", []string{"SYNCD_POLLER_BACKOFF_MAX=8760h"})
	if err == nil || !strings.Contains(err.Error(), "must be between 1s and 24h, got 8760h") {
		t.Fatalf("error %v does not give the bounds as a user writes them", err)
	}
	if _, _, err := Load("", []string{"SYNCD_POLLER_BACKOFF_MAX=24h", "SYNCD_POLLER_LEASE=90s"}); err != nil {
		t.Fatalf("bounds themselves refused: %v", err)
	}
}

func TestRedisModes(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		mode string
	}{
		{nil, ""},
		{[]string{"SYNCD_REDIS_ADDR=127.0.0.1:6379"}, "server"},
		{[]string{"SYNCD_REDIS_ADDRS=s1:26379,s2:26379,s3:26379", "SYNCD_REDIS_MASTER_NAME=mymaster"}, "sentinel"},
		{[]string{"SYNCD_REDIS_ADDRS=n1:7000"}, "cluster"},
	} {
		cfg, _, err := Load("", tc.env)
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if cfg.Redis.Mode() != tc.mode || cfg.Redis.Enabled() != (tc.mode != "") {
			t.Errorf("%v: mode %q enabled %v, want %q", tc.env, cfg.Redis.Mode(), cfg.Redis.Enabled(), tc.mode)
		}
	}
}
