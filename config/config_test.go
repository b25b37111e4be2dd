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
		{env: []string{"SYNCD_DATABASE_DSN="}, key: "database.dsn"},
		{env: []string{"SYNCD_REDIS_ADDR=redis"}, key: "redis.addr"},
		{env: []string{"SYNCD_BOT_THRESHOLD=2"}, key: "bot.threshold"},
		{env: []string{"SYNCD_CONSOLE_SESSION_SECRET=short"}, key: "console.session_secret"},
		{env: []string{"SYNCD_POLLER_SCHEDULE=bogus"}, key: "poller.schedule"},
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
