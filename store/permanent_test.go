package store_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// TestPermanent opens real databases in ways an operator gets wrong and
// checks which errors store.Permanent calls permanent (with a hint that
// names what to check) and which it leaves to the retry loop.
func TestPermanent(t *testing.T) {
	mysqlDSN := func(edit func(c *mysql.Config)) string {
		c, err := mysql.ParseDSN(testdb.NewMySQLDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		edit(c)
		return c.FormatDSN()
	}
	refused := func() string { // a port nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	dir := t.TempDir()
	notADB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notADB, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "ro.db")
	if err := os.WriteFile(readOnly, nil, 0o600); err != nil { // an empty file is an empty database
		t.Fatal(err)
	}

	cases := []struct {
		name      string
		driver    string
		dsn       string
		permanent bool
		hint      string // in the hint
	}{
		{"wrong password", "mysql", mysqlDSN(func(c *mysql.Config) { c.Passwd = "wrong" }), true, "password in database.dsn"},
		{"no such user", "mysql", mysqlDSN(func(c *mysql.Config) { c.User = "syncd_nobody" }), true, "database.dsn"},
		{"unknown database", "mysql", mysqlDSN(func(c *mysql.Config) { c.DBName = "syncd_no_such_db" }), true, "CREATE DATABASE"},
		{"unknown session variable", "mysql", mysqlDSN(func(c *mysql.Config) {
			c.Params = map[string]string{"syncd_no_such_variable": "1"}
		}), true, "parameters of database.dsn"},
		{"server down", "mysql", mysqlDSN(func(c *mysql.Config) { c.Addr = refused; c.Timeout = time.Second }), false, ""},
		{"PostgreSQL: no such role", "postgres", pgDSN(t, func(u *url.URL) { u.User = url.User("syncd_nobody") }), true, "CREATE ROLE"},
		{"PostgreSQL: unknown database", "postgres", pgDSN(t, func(u *url.URL) { u.Path = "/syncd_no_such_db" }), true, "CREATE DATABASE"},
		{"PostgreSQL: unknown setting", "postgres", pgDSN(t, func(u *url.URL) {
			q := u.Query()
			q.Set("syncd_no_such_setting", "1")
			u.RawQuery = q.Encode()
		}), true, "parameters of database.dsn"},
		{"PostgreSQL: server down", "postgres", pgDSN(t, func(u *url.URL) {
			u.Host = refused
			q := u.Query()
			q.Set("connect_timeout", "1")
			u.RawQuery = q.Encode()
		}), false, ""},
		{"SQLite folder missing", "sqlite", filepath.Join(dir, "no", "such", "folder", "syncd.db"), true, "folder"},
		{"SQLite file not a database", "sqlite", notADB, true, "not a SQLite database"},
		{"SQLite read-only", "sqlite", "file:" + readOnly + "?mode=ro", true, "read-only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := openAndApply(ctx, c.driver, c.dsn)
			if err == nil {
				t.Fatalf("open %s %s: no error", c.driver, c.dsn)
			}
			hint, ok := store.Permanent(err)
			t.Logf("%v → %v %q", err, ok, hint)
			if ok != c.permanent {
				t.Fatalf("Permanent(%v) = %v, want %v", err, ok, c.permanent)
			}
			if !strings.Contains(hint, c.hint) {
				t.Errorf("hint for %v = %q, want it to mention %q", err, hint, c.hint)
			}
		})
	}
	if _, ok := store.Permanent(context.DeadlineExceeded); ok {
		t.Error("a timeout is permanent")
	}
}

func pgDSN(t *testing.T, edit func(u *url.URL)) string {
	u, err := url.Parse(testdb.NewPostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	edit(u)
	return u.String()
}

// openAndApply is what `syncd run` does first: open, ping, and (the first
// write) apply the schema.
func openAndApply(ctx context.Context, driver, dsn string) error {
	st, err := store.Open(ctx, driver, dsn, 2)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		return err
	}
	_, err = st.ApplySchema(ctx)
	return err
}
