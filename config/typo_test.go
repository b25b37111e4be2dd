package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A misspelt variable is not silently ignored: Load reports it with the
// setting it is likely a typo of, and leaves alone the SYNCD_* variables
// that other parts of syncd (and its tests) read.
func TestUnknownVariablesAreReported(t *testing.T) {
	_, src, err := Load("", []string{
		"SYNCD_POLLER_WORKER=4",
		"SYNCD_DATABSE_DSN=x.db",
		"SYNCD_NOTHING_LIKE_IT=1",
		"SYNCD_POLLER_WORKERS=3",
		"SYNCD_CONFIG=/etc/syncd.yaml",
		"SYNCD_ONNXRUNTIME_LIB=/opt/lib.so",
		"SYNCD_TEST_MYSQL_DSN=root@tcp(x)/y",
		"OTHER_POLLER_WORKER=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []UnknownVariable{
		{Name: "SYNCD_DATABSE_DSN", DidYouMean: "SYNCD_DATABASE_DSN"},
		{Name: "SYNCD_NOTHING_LIKE_IT"},
		{Name: "SYNCD_POLLER_WORKER", DidYouMean: "SYNCD_POLLER_WORKERS"},
	}
	if len(src.Unknown) != len(want) {
		t.Fatalf("unknown variables %v, want %v", src.Unknown, want)
	}
	for i := range want {
		if src.Unknown[i] != want[i] {
			t.Errorf("unknown variable %d = %+v, want %+v", i, src.Unknown[i], want[i])
		}
	}
	if s := src.Unknown[2].String(); !strings.Contains(s, "did you mean SYNCD_POLLER_WORKERS?") {
		t.Errorf("message %q", s)
	}
}

// The same typo in the file is an error, and it says which key was meant.
func TestUnknownFileKeySuggests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("poller:\n  worker: 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), "key poller.worker (line 2): unknown key; did you mean poller.workers?") {
		t.Fatalf("error %v", err)
	}
}

// A bare number where a duration belongs says how to write it, in the
// file and in the environment.
func TestBareNumberDuration(t *testing.T) {
	for _, tc := range []struct {
		file string
		env  []string
		want string
	}{
		{file: "redis:\n  lock_ttl: 8\n", want: "key redis.lock_ttl (line 2): a duration needs a unit: write 8s"},
		{file: "poller:\n  lease: 1.5\n", want: "key poller.lease (line 2): a duration needs a unit: write 1.5s"},
		{env: []string{"SYNCD_REDIS_LOCK_TTL=8"}, want: "config key redis.lock_ttl (env SYNCD_REDIS_LOCK_TTL): a duration needs a unit: write 8s"},
	} {
		path := ""
		if tc.file != "" {
			path = filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := Load(path, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %v: error %v, want %q", tc.file, tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "cannot unmarshal") {
			t.Errorf("%q %v: error %v still speaks yaml", tc.file, tc.env, err)
		}
	}
}

// A MySQL DSN the driver cannot parse is a configuration error naming
// database.dsn, not an outage to retry.
func TestBadMySQLDSN(t *testing.T) {
	for _, dsn := range []string{"localhost:3306", "root@tcp(127.0.0.1:3306)", "root@tcp(127.0.0.1:3306)/db?tls=nosuchconfig"} {
		_, _, err := Load("", []string{"SYNCD_DATABASE_DRIVER=mysql", "SYNCD_DATABASE_DSN=" + dsn})
		if err == nil || !strings.Contains(err.Error(), "database.dsn (env SYNCD_DATABASE_DSN)") {
			t.Errorf("dsn %q: error %v", dsn, err)
		}
	}
}
