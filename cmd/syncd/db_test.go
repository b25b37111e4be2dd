package main

import (
	"testing"

	"github.com/syncd-dev/syncd/config"
)

// `syncd inject` names the database it writes to, on every driver.
func TestDescribeDatabase(t *testing.T) {
	for _, tc := range []struct{ driver, dsn, want string }{
		{"postgres", "postgres://syncd@db.internal:5433/erp?sslmode=disable", "PostgreSQL database erp on db.internal:5433"},
		{"mysql", "syncd:x@tcp(db.internal:3306)/erp", "MySQL database erp on db.internal:3306"},
		{"sqlite", "file::memory:", "SQLite in memory"},
	} {
		cfg := config.Default()
		cfg.Database.Driver, cfg.Database.DSN = tc.driver, tc.dsn
		if got := describeDatabase(cfg); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.driver, tc.dsn, got, tc.want)
		}
	}
}
